"""Sign-in through the auth service: the authentication backend, the local
mirror of each account, and the middleware that re-checks it on every request."""
