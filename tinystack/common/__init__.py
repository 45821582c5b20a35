"""Cross-service plumbing: config, db, api, auth, policy, rpc. Imports no service."""
