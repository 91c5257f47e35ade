"""The ETL's service layer: incremental sync, full rebuilds, and the status report.

Correctness rests on three rules:
- a queue row is deleted only after Elasticsearch acknowledged every document it
  implies, so a crash at any moment leaves it queued and it is replayed;
- documents are rebuilt from the current rows, never patched from the change, so a
  replay, a duplicate or an out-of-order row converges to the same result;
- a full rebuild fills a new generation of indices from one snapshot, swaps the
  aliases atomically, and drops only the queue rows that snapshot already saw;
- what the queue cannot see (documents lost behind the ETL's back) the verifier
  finds by comparing the indices with the catalogue, and repairs.

These modules import only the domain, the ports and the index contract.
"""

from movies_etl.service.common import CacheNotifier, SyncOptions
from movies_etl.service.incremental import IncrementalSync
from movies_etl.service.rebuild import FullRebuild
from movies_etl.service.status import StatusReport
from movies_etl.service.verify import Verification, Verifier

__all__ = [
    "CacheNotifier",
    "FullRebuild",
    "IncrementalSync",
    "StatusReport",
    "SyncOptions",
    "Verification",
    "Verifier",
]
