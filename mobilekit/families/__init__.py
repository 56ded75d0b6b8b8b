"""Model families, one folder each, found by the shared layers through `mobilekit.core.family.FAMILIES`."""
