"""Which time zone a lead reads email in: explicit attribute, else country/region, else the rep's.

Pure lookup tables; a country spanning several zones needs its region to be exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# One zone per country where that is where most of its people live.
_COUNTRY: Mapping[str, str] = {
    "AR": "America/Argentina/Buenos_Aires",
    "AT": "Europe/Vienna",
    "AU": "Australia/Sydney",
    "BE": "Europe/Brussels",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CH": "Europe/Zurich",
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "CO": "America/Bogota",
    "CZ": "Europe/Prague",
    "DE": "Europe/Berlin",
    "DK": "Europe/Copenhagen",
    "EE": "Europe/Tallinn",
    "ES": "Europe/Madrid",
    "FI": "Europe/Helsinki",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "GR": "Europe/Athens",
    "HK": "Asia/Hong_Kong",
    "IE": "Europe/Dublin",
    "IL": "Asia/Jerusalem",
    "IN": "Asia/Kolkata",
    "IT": "Europe/Rome",
    "JP": "Asia/Tokyo",
    "KR": "Asia/Seoul",
    "MX": "America/Mexico_City",
    "NL": "Europe/Amsterdam",
    "NO": "Europe/Oslo",
    "NZ": "Pacific/Auckland",
    "PL": "Europe/Warsaw",
    "PT": "Europe/Lisbon",
    "RO": "Europe/Bucharest",
    "SE": "Europe/Stockholm",
    "SG": "Asia/Singapore",
    "TR": "Europe/Istanbul",
    "AE": "Asia/Dubai",
    "US": "America/New_York",
    "ZA": "Africa/Johannesburg",
    "UA": "Europe/Kyiv",
}

# Regions of the multi-zone countries, by ISO 3166-2 subdivision code (without the country).
_REGION: Mapping[str, Mapping[str, str]] = {
    "US": {
        **dict.fromkeys(
            [
                "CT",
                "DE",
                "DC",
                "FL",
                "GA",
                "ME",
                "MD",
                "MA",
                "MI",
                "NH",
                "NJ",
                "NY",
                "NC",
                "OH",
                "PA",
                "RI",
                "SC",
                "VT",
                "VA",
                "WV",
                "IN",
                "KY",
            ],
            "America/New_York",
        ),
        **dict.fromkeys(
            [
                "AL",
                "AR",
                "IL",
                "IA",
                "KS",
                "LA",
                "MN",
                "MS",
                "MO",
                "NE",
                "ND",
                "OK",
                "SD",
                "TN",
                "TX",
                "WI",
            ],
            "America/Chicago",
        ),
        **dict.fromkeys(["CO", "ID", "MT", "NM", "UT", "WY"], "America/Denver"),
        "AZ": "America/Phoenix",
        **dict.fromkeys(["CA", "NV", "OR", "WA"], "America/Los_Angeles"),
        "AK": "America/Anchorage",
        "HI": "Pacific/Honolulu",
    },
    "CA": {
        "BC": "America/Vancouver",
        "AB": "America/Edmonton",
        "SK": "America/Regina",
        "MB": "America/Winnipeg",
        "ON": "America/Toronto",
        "QC": "America/Toronto",
        "NB": "America/Halifax",
        "NS": "America/Halifax",
        "PE": "America/Halifax",
        "NL": "America/St_Johns",
    },
    "AU": {
        "NSW": "Australia/Sydney",
        "ACT": "Australia/Sydney",
        "VIC": "Australia/Melbourne",
        "QLD": "Australia/Brisbane",
        "SA": "Australia/Adelaide",
        "WA": "Australia/Perth",
        "TAS": "Australia/Hobart",
        "NT": "Australia/Darwin",
    },
    "BR": {"AM": "America/Manaus", "MT": "America/Cuiaba", "AC": "America/Rio_Branco"},
    "MX": {
        "BC": "America/Tijuana",
        "SON": "America/Hermosillo",
        "CHH": "America/Chihuahua",
    },
}


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_for_place(country: str | None, region: str | None) -> ZoneInfo | None:
    """The zone of an ISO country code and optional region ('US', 'CA' or 'US-CA'), if known."""
    if not country:
        return None
    country = country.strip().upper()
    region = (region or "").strip().upper().removeprefix(f"{country}-") or None
    regional = _REGION.get(country, {}).get(region or "")
    return _zone(regional or _COUNTRY.get(country))


def resolve_timezone(attributes: Mapping[str, str], rep_timezone: str) -> ZoneInfo:
    """The lead's zone: a valid `timezone` attribute, else country/region, else the rep's.

    An unknown or misspelt zone falls through to the next source instead of failing.
    """
    return (
        _zone(attributes.get("timezone"))
        or zone_for_place(attributes.get("country"), attributes.get("region"))
        or _zone(rep_timezone)
        or ZoneInfo("UTC")
    )
