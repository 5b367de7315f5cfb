"""Chinese FAQ customer-service bot: shared configuration and the `faqbot` CLI."""

__version__ = "0.1.0"
