"""The editors' studio domain: drafts, revisions, publishing, the regression set."""
