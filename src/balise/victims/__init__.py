"""Victims first (issue 17): series of near-duplicate material across reports, identified victims, victims' requests (CSAR Art. 20, 21)."""
