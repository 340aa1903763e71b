"""The provider contract: the same tests against every lock family."""
