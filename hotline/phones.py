"""Phone numbers: parse and check them, and keep them only encrypted.

Numbers are parsed with Google's libphonenumber (``phonenumbers``): Chinese
mobiles and landlines without a prefix, anything else with a leading ``+``.
At rest a number is a Fernet token (AES-128-CBC with HMAC-SHA256), a keyed
hash to recognise the same number again without decrypting anything, and its
last four digits for a masked display. Keys come from the environment or are
generated into the instance folder; several keys allow rotation (the first
encrypts, all decrypt).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from hotline.errors import InvalidInput

DEFAULT_REGION = "CN"
MAX_RAW_CHARS = 32
HINT_DIGITS = 4


def parse_phone(raw: object) -> str:
    """The number in E.164 form (``+8613812345678``), or InvalidInput.

    The number itself is never echoed into errors or logs.
    """
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_RAW_CHARS:
        raise InvalidInput("phone", field="phone")
    try:
        number = phonenumbers.parse(raw, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidInput("phone", field="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("phone", field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    """A number as a counsellor dials it: national in China, else international."""
    number = phonenumbers.parse(e164)
    if phonenumbers.region_code_for_number(number) == DEFAULT_REGION:
        return phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.NATIONAL
        )
    return phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )


def mask_hint(hint: str | None) -> str:
    """The masked form everyone but the caller sees: ``•••• 5678``."""
    return f"•••• {hint}" if hint else "••••"


@dataclass(frozen=True)
class SealedPhone:
    """A number as it is stored."""

    ciphertext: str
    lookup: str
    hint: str


class PhoneVault:
    """Encrypts, decrypts and fingerprints phone numbers with the app's keys."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one phone encryption key is required")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        # The lookup hash is keyed so a stolen database cannot be matched
        # against a list of numbers; derived from the current key.
        self._lookup_key = hmac.new(
            keys[0].encode(), b"hotline phone lookup", hashlib.sha256
        ).digest()

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def seal(self, e164: str) -> SealedPhone:
        return SealedPhone(
            ciphertext=self._fernet.encrypt(e164.encode()).decode(),
            lookup=self.lookup(e164),
            hint=e164[-HINT_DIGITS:],
        )

    def lookup(self, e164: str) -> str:
        return hmac.new(self._lookup_key, e164.encode(), hashlib.sha256).hexdigest()

    def open(self, ciphertext: str) -> str:
        """The number back; raises ValueError when no key opens it."""
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as error:
            raise ValueError("the phone number cannot be decrypted") from error
