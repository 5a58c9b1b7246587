"""The only code that talks to Artu: `client` (httpx), `payload` (record → item), `wire` (assumed shapes), `sandbox`."""
