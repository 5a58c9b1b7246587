"""Date and number formats per language (FORMAT_MODULE_PATH), read before Django's own.

One date order per language, the same for dates and timestamps: day/month/year in Spanish and in English alike,
as the files that branches send write them, so a record reads the same whichever language a person chose.
"""
