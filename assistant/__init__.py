"""One message in, one reply out: settings, store, registry, router, drafter, policy and pipeline."""
