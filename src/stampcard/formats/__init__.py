"""Date and number formats for languages Django ships none for (``FORMAT_MODULE_PATH``).

A language without a module here keeps Django's own formats."""
