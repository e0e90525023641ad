"""The CLI's command groups, one module each; ``harness.cli`` assembles them."""
