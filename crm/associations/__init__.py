"""International exchange associations (地域国際化協会 and municipal associations)."""
