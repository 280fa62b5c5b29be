"""MongoSessionStore: the SessionStore port over the `sessions` collection.

sessions: {_id: SessionKey.id, owner, platform, chat_id, user_id, session_id, conversation_id,
           last_activity, expires_at}
A TTL index on `expires_at` (migration v0003) removes expired sessions; reads do not rely on it.
Every filter names the owner with the `_id`: (owner, _id) is the collection's shard key
(docs/operations.md, "Scaling out"), so a sharded cluster sends each one to one shard.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.database import Database

from chat_service.adapters.mongo.transactions import storage_errors
from chat_service.core.timestamps import to_stored
from chat_service.ports.sessions import Session, SessionKey

Document = dict[str, Any]


class MongoSessionStore:
    """One document per session key; every method raises StorageUnavailable when Mongo is down."""

    def __init__(self, database: Database[Document]) -> None:
        self._sessions = database["sessions"]

    def get(self, key: SessionKey) -> Session | None:
        with storage_errors():
            document = self._sessions.find_one(_filter(key))
        return None if document is None else _session(document)

    def put(self, key: SessionKey, session: Session, *, expires_at: datetime) -> None:
        document = {
            "owner": key.owner,
            "platform": key.platform,
            "chat_id": key.chat_id,
            "user_id": key.user_id,
            "session_id": session.id,
            "conversation_id": session.conversation_id,
            "last_activity": to_stored(session.last_activity),
            "expires_at": to_stored(expires_at),
        }
        with storage_errors():
            self._sessions.replace_one(_filter(key), document, upsert=True)

    def touch(
        self, key: SessionKey, session_id: str, *, now: datetime, expires_at: datetime
    ) -> bool:
        update = {"last_activity": to_stored(now), "expires_at": to_stored(expires_at)}
        with storage_errors():
            result = self._sessions.update_one(
                {**_filter(key), "session_id": session_id}, {"$set": update}
            )
        return result.matched_count == 1

    def delete(self, key: SessionKey) -> Session | None:
        with storage_errors():
            document = self._sessions.find_one_and_delete(_filter(key))
        return None if document is None else _session(document)


def _filter(key: SessionKey) -> Document:
    return {"_id": key.id, "owner": key.owner}


def _session(document: Document) -> Session:
    return Session(
        id=document["session_id"],
        conversation_id=document["conversation_id"],
        last_activity=to_stored(document["last_activity"]),
    )
