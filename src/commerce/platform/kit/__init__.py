"""Pure building blocks every context uses: Result, Specification, Money, ids, errors, events."""
