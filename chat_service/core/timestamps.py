"""Stored timestamps: UTC, millisecond precision (what MongoDB keeps), epoch-millisecond codec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def to_stored(moment: datetime) -> datetime:
    """Returns `moment` in UTC truncated to the millisecond, as a store keeps it.

    A naive `moment` is taken to be UTC already (that is how pymongo returns datetimes when
    the client is not tz_aware).
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def to_epoch_ms(moment: datetime) -> int:
    """Returns the whole milliseconds since the Unix epoch of an aware or UTC-naive `moment`."""
    return (to_stored(moment) - _EPOCH) // _ONE_MS


def from_epoch_ms(epoch_ms: int) -> datetime:
    """Returns the UTC datetime `epoch_ms` milliseconds after the epoch.

    Raises OverflowError when it falls outside datetime's range.
    """
    return _EPOCH + timedelta(milliseconds=epoch_ms)
