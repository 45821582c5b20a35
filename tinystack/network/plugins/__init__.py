"""Server-side drivers: type drivers allocate segments, mechanism drivers bind ports."""
