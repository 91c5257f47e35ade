"""A stand-in for Yandex ID in the tests (no machine here reaches Yandex): an
OAuth 2.0 authorization server with the authorization-code grant, PKCE S256
and single-use codes, and Yandex's user-info shape. The "user" signs in by
query parameters on /authorize (`user`, `email`), so a test picks identities.

    python -m tests.support.oauth_provider --port P --client-id C --client-secret S
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode

import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def build(client_id: str, client_secret: str) -> FastAPI:
    app = FastAPI()
    codes: dict[str, dict[str, str]] = {}
    tokens: dict[str, dict[str, str]] = {}

    def error(code: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": code}, status_code=status)

    @app.get("/authorize")
    def authorize(request: Request) -> Response:
        q = request.query_params
        redirect_uri, state = q.get("redirect_uri", ""), q.get("state", "")
        code_challenge = q.get("code_challenge", "")
        if (
            q.get("response_type") != "code"
            or q.get("client_id") != client_id
            or q.get("code_challenge_method") != "S256"
        ):
            return error("invalid_request")
        if not (redirect_uri and state and code_challenge):
            return error("invalid_request")
        code = secrets.token_urlsafe(16)
        codes[code] = {
            "redirect_uri": redirect_uri,
            "challenge": code_challenge,
            "login": q.get("user", "alice"),
            "email": q.get("email", ""),
        }
        return RedirectResponse(
            f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=302
        )

    @app.post("/token")
    async def token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("client_id") != client_id or form.get("client_secret") != client_secret:
            return error("invalid_client", 401)
        if form.get("grant_type") != "authorization_code":
            return error("unsupported_grant_type")
        grant = codes.pop(form.get("code", ""), None)  # single use, even when refused
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return error("invalid_grant")
        if s256(form.get("code_verifier", "")) != grant["challenge"]:
            return error("invalid_grant")
        access = secrets.token_urlsafe(24)
        tokens[access] = grant
        return JSONResponse({"access_token": access, "token_type": "bearer", "expires_in": 3600})

    @app.get("/info")
    def info(authorization: str = Header("")) -> Response:
        scheme, _, value = authorization.partition(" ")
        grant = tokens.get(value) if scheme in ("OAuth", "Bearer") else None
        if grant is None:
            return error("invalid_token", 401)
        body: dict[str, Any] = {"id": f"ya-{grant['login']}", "login": grant["login"]}
        if grant["email"]:
            body["default_email"] = grant["email"]
        return JSONResponse(body)

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    args = parser.parse_args()
    app = build(args.client_id, args.client_secret)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
