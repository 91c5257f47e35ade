#!/usr/bin/env python3
"""Smoke test for the node started by es.sh (stdlib only): exercises the features the project relies on.

Usage: python3 dev/elasticsearch/smoke_test.py [--keep] [http://127.0.0.1:9200]
Creates (and, without --keep, deletes) indices named smoke-movies-*. Prints one line per check and 'N passed, N failed'.
"""

import json
import sys
import urllib.error
import urllib.request

_ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
BASE = (_ARGS[0] if _ARGS else "http://127.0.0.1:9200").rstrip("/")
PASSED = FAILED = 0


def req(method, path, body=None, ndjson=False):
    data = None
    headers = {}
    if body is not None:
        if ndjson:
            data = ("\n".join(json.dumps(x) for x in body) + "\n").encode()
            headers["Content-Type"] = "application/x-ndjson"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    r = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            raw = resp.read()
            return resp.status, dict(resp.headers), (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, dict(e.headers), (json.loads(raw) if raw else None)


def check(name, cond, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
        print(f"ok   {name}")
    else:
        FAILED += 1
        print(f"FAIL {name} {detail}")


def main():
    st, hdr, body = req("GET", "/")
    check("GET / is 200", st == 200, st)
    check("version is 8.x", body["version"]["number"].startswith("8."), body)
    check(
        "X-Elastic-Product header",
        {k.lower(): v for k, v in hdr.items()}.get("x-elastic-product") == "Elasticsearch",
        hdr,
    )

    for idx in ("smoke-movies-v1", "smoke-movies-v2"):
        req("DELETE", f"/{idx}")

    index_body = {
        "settings": {
            "number_of_shards": 1,
            "number_of_replicas": 0,
            "analysis": {
                "normalizer": {
                    "lc": {"type": "custom", "filter": ["lowercase"]},
                    "lc_fold": {"type": "custom", "filter": ["lowercase", "asciifolding"]},
                },
                "analyzer": {
                    "en_custom": {
                        "type": "custom",
                        "tokenizer": "standard",
                        "filter": ["lowercase", "asciifolding", "en_stem"],
                    },
                    "en_stop": {"type": "english", "stopwords": "_english_"},
                },
                "filter": {"en_stem": {"type": "stemmer", "language": "light_english"}},
            },
        },
        "mappings": {
            "properties": {
                "title": {
                    "type": "text",
                    "analyzer": "english",
                    "fields": {
                        "ru": {"type": "text", "analyzer": "russian"},
                        "raw": {"type": "keyword", "normalizer": "lc"},
                        "folded": {"type": "keyword", "normalizer": "lc_fold"},
                        "custom": {"type": "text", "analyzer": "en_custom"},
                    },
                },
                "genres": {"type": "keyword"},
                "year": {"type": "integer"},
            }
        },
    }
    st, _, body = req("PUT", "/smoke-movies-v1", index_body)
    check(
        "create index with english/russian analyzers + custom normalizer",
        st == 200 and body.get("acknowledged"),
        body,
    )
    st, _, body = req("PUT", "/smoke-movies-v2", index_body)
    check("create second index", st == 200, body)

    docs = [
        ("1", {"title": "The Matrix", "genres": ["Action", "Sci-Fi"], "year": 1999}),
        ("2", {"title": "Running Man", "genres": ["Action"], "year": 1987}),
        ("3", {"title": "Брат", "genres": ["Crime", "Drama"], "year": 1997}),
        ("4", {"title": "Фильмы о войне", "genres": ["Drama", "War"], "year": 1985}),
        ("5", {"title": "amélie", "genres": ["Comedy", "Romance"], "year": 2001}),
        ("6", {"title": "Alien", "genres": ["Horror", "Sci-Fi"], "year": 1979}),
    ]
    bulk = []
    for _id, d in docs:
        bulk += [{"index": {"_index": "smoke-movies-v1", "_id": _id}}, d]
    bulk += [
        {"index": {"_index": "smoke-movies-v2", "_id": "new"}},
        {"title": "New Movie", "genres": ["Drama"], "year": 2024},
    ]
    st, _, body = req("POST", "/_bulk?refresh=wait_for", bulk, ndjson=True)
    check("_bulk", st == 200 and body["errors"] is False and len(body["items"]) == 7, body)
    st, _, body = req(
        "PUT",
        "/smoke-movies-v1/_doc/7?refresh=true",
        {"title": "Aliens", "genres": ["Action", "Sci-Fi"], "year": 1986},
    )
    check("index single doc", st == 201, body)

    st, _, body = req(
        "POST", "/smoke-movies-v1/_analyze", {"analyzer": "english", "text": "Running movies"}
    )
    toks = [t["token"] for t in body["tokens"]]
    check("english analyzer stems", toks == ["run", "movi"], toks)
    st, _, body = req(
        "POST", "/smoke-movies-v1/_analyze", {"analyzer": "russian", "text": "Фильмы о войне"}
    )
    toks = [t["token"] for t in body["tokens"]]
    check("russian analyzer stems + stopwords", toks == ["фильм", "войн"], toks)
    st, _, body = req(
        "POST", "/smoke-movies-v1/_analyze", {"normalizer": "lc_fold", "text": "AMÉLIE"}
    )
    toks = [t["token"] for t in body["tokens"]]
    check("custom normalizer lowercase+asciifolding", toks == ["amelie"], toks)
    st, _, body = req(
        "POST", "/smoke-movies-v1/_analyze", {"analyzer": "en_custom", "text": "Amélie Cats"}
    )
    toks = [t["token"] for t in body["tokens"]]
    check(
        "custom analyzer lowercase/asciifolding/stemmer(light_english)",
        toks == ["amelie", "cat"],
        toks,
    )

    q = {
        "query": {
            "multi_match": {"query": "matrx", "fields": ["title", "title.ru"], "fuzziness": "AUTO"}
        }
    }
    st, _, body = req("POST", "/smoke-movies-v1/_search", q)
    ids = [h["_id"] for h in body["hits"]["hits"]]
    check("multi_match fuzziness AUTO", st == 200 and ids[:1] == ["1"], body)
    q = {
        "query": {
            "multi_match": {"query": "фильм", "fields": ["title", "title.ru"], "fuzziness": "AUTO"}
        }
    }
    st, _, body = req("POST", "/smoke-movies-v1/_search", q)
    check(
        "russian stemming in search (фильм -> Фильмы)",
        [h["_id"] for h in body["hits"]["hits"]][:1] == ["4"],
        body,
    )
    q = {"query": {"match": {"title": "run"}}}
    st, _, body = req("POST", "/smoke-movies-v1/_search", q)
    check(
        "english stemming in search (run -> Running)",
        [h["_id"] for h in body["hits"]["hits"]] == ["2"],
        body,
    )
    q = {"query": {"term": {"title.raw": "THE MATRIX"}}}
    st, _, body = req("POST", "/smoke-movies-v1/_search", q)
    check("term query goes through the normalizer", body["hits"]["total"]["value"] == 1, body)

    q = {"query": {"match_all": {}}, "sort": [{"title.raw": "asc"}], "size": 100}
    st, _, body = req("POST", "/smoke-movies-v1/_search", q)
    sorted_titles = [h["sort"][0] for h in body["hits"]["hits"]]
    check(
        "sort on keyword sub-field (normalized values)",
        st == 200 and sorted_titles == sorted(sorted_titles) and "the matrix" in sorted_titles,
        sorted_titles,
    )

    q = {"size": 0, "aggs": {"g": {"terms": {"field": "genres", "size": 10}}}}
    st, _, body = req("POST", "/smoke-movies-v1/_search", q)
    buckets = {b["key"]: b["doc_count"] for b in body["aggregations"]["g"]["buckets"]}
    check(
        "terms aggregation",
        buckets.get("Sci-Fi") == 3 and buckets.get("Action") == 3 and buckets.get("Drama") == 2,
        buckets,
    )

    st, _, body = req(
        "POST",
        "/_aliases",
        {"actions": [{"add": {"index": "smoke-movies-v1", "alias": "smoke-movies"}}]},
    )
    check("_aliases add", st == 200 and body.get("acknowledged"), body)
    st, _, body = req(
        "POST",
        "/_aliases",
        {
            "actions": [
                {"remove": {"index": "smoke-movies-v1", "alias": "smoke-movies"}},
                {"add": {"index": "smoke-movies-v2", "alias": "smoke-movies"}},
            ]
        },
    )
    check("_aliases atomic swap (remove+add)", st == 200 and body.get("acknowledged"), body)
    st, _, body = req("GET", "/_alias/smoke-movies")
    check("alias now points to v2 only", list(body.keys()) == ["smoke-movies-v2"], body)
    st, _, body = req("GET", "/smoke-movies/_count")
    check("_count through alias", st == 200 and body["count"] == 1, body)
    st, _, body = req("GET", "/smoke-movies-v1/_count")
    check("_count", st == 200 and body["count"] == 7, body)
    st, _, body = req("POST", "/smoke-movies-v1/_count", {"query": {"term": {"genres": "Action"}}})
    check("_count with query", body["count"] == 3, body)

    st, _, body = req(
        "POST",
        "/_mget",
        {
            "docs": [
                {"_index": "smoke-movies-v1", "_id": "1"},
                {"_index": "smoke-movies-v1", "_id": "404"},
                {"_index": "smoke-movies", "_id": "new"},
            ]
        },
    )
    found = [d.get("found") for d in body["docs"]]
    check("_mget", st == 200 and found == [True, False, True], body)

    base = {"query": {"match_all": {}}, "sort": [{"year": "asc"}, {"title.raw": "asc"}], "size": 3}
    st, _, p1 = req("POST", "/smoke-movies-v1/_search", base)
    st, _, p2 = req(
        "POST", "/smoke-movies-v1/_search", dict(base, search_after=p1["hits"]["hits"][-1]["sort"])
    )
    st, _, f2 = req("POST", "/smoke-movies-v1/_search", dict(base, **{"from": 3}))
    ids1 = [h["_id"] for h in p1["hits"]["hits"]]
    ids2 = [h["_id"] for h in p2["hits"]["hits"]]
    check("search_after paging", ids1 == ["6", "4", "7"] and ids2 == ["2", "3", "1"], (ids1, ids2))
    check(
        "from+size paging equals search_after", [h["_id"] for h in f2["hits"]["hits"]] == ids2, f2
    )

    st, _, body = req("POST", "/smoke-movies-v1/_search", {"from": 9990, "size": 10})
    check("from+size == 10000 allowed", st == 200, body)
    st, _, body = req("POST", "/smoke-movies-v1/_search", {"from": 9995, "size": 10})
    reason = json.dumps(body)
    check(
        "from+size > 10000 rejected (index.max_result_window)",
        st == 400 and "max_result_window" in reason and "10000" in reason,
        reason[:300],
    )
    st, _, body = req(
        "GET", "/smoke-movies-v1/_settings?include_defaults=true&filter_path=**.max_result_window"
    )
    check("index.max_result_window default 10000", "10000" in json.dumps(body), body)

    st, _, body = req("POST", "/smoke-movies-v1/_update/1?refresh=true", {"doc": {"year": 2000}})
    check("_update partial doc", st == 200 and body["result"] == "updated", body)
    st, _, body = req("DELETE", "/smoke-movies-v1/_doc/7?refresh=true")
    check("delete doc", st == 200 and body["result"] == "deleted", body)
    st, _, body = req("GET", "/_cluster/health")
    check("cluster health green/yellow", body["status"] in ("green", "yellow"), body)

    if "--keep" not in sys.argv:
        for idx in ("smoke-movies-v1", "smoke-movies-v2"):
            req("DELETE", f"/{idx}")

    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
