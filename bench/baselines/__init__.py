"""What the API is compared with: Envoy's `direct_response` and a FastAPI cache hit."""
