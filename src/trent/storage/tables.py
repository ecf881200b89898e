"""The schema, as one SQLAlchemy Core ``MetaData`` (architecture.md, storage).

This module describes the *current* shape of every table; the Alembic revisions under
``migrations/versions`` are frozen snapshots of how we got here, and a conformance
test checks that migrating an empty database to head yields exactly this metadata.

Portability rules (one tree for SQLite and PostgreSQL):

- enums are stored as their string values in plain ``String`` columns, never as a
  native ``ENUM`` type, so adding a key spec or state later needs no type migration;
- times are ``Double`` epoch seconds: an IEEE-754 double round-trips a Python float
  bit-for-bit on both backends (microseconds included);
- material and secrets are opaque ``LargeBinary`` blobs, already wrapped by the key
  store; nothing here can read them;
- text that is a sort key (alias names, tag keys) uses the binary ``"C"`` collation on
  PostgreSQL so both backends order and paginate identically, whatever the database
  locale;
- every constraint and index has a deterministic name (``naming_convention``), which
  later ``ALTER``s (and SQLite batch migrations) need.

Integrity choices: identity rows reference each other with foreign keys. Key material
is keyed by ``key_id`` alone (the ``KeyRepository`` contract) and may be shared by the
regional copies of a multi-region key, so it has no foreign key; ``SqlStorage.delete_key``
cascades material, member imports, aliases and tags explicitly in one transaction.

Later issues added tables of their own below (rotation schedules, last usage, custom key
stores, roles, identity policies, grants); key policies live in ``keys.policy``. The
audit trail (issue 16) has its own: trails, chained events, delivered files, digests.
"""

from __future__ import annotations

import sqlalchemy as sa

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

# Column widths are generous upper bounds (the service validates the real limits);
# PostgreSQL enforces them, SQLite does not.
ID = 128  # key ids, material ids, access key ids, custom key store ids
ACCOUNT = 32
REGION = 64
PARTITION = 32
ENUM = 64
ARN = 2048
NAME = 256  # alias names, principal and account names


def sortable(length: int) -> sa.types.TypeEngine[str]:
    """A string column whose ordering is bytewise on every backend (see module doc)."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", sa.String(ACCOUNT), primary_key=True),
    sa.Column("name", sa.String(NAME), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
)

principals = sa.Table(
    "principals",
    metadata,
    sa.Column("arn", sa.String(ARN), primary_key=True),
    sa.Column(
        "account_id",
        sa.String(ACCOUNT),
        sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kind", sa.String(ENUM), nullable=False),
    sa.Column("name", sa.String(NAME), nullable=False),
    sa.Column("principal_id", sa.String(ID), nullable=False),
    sa.Index("ix_principals_account_id", "account_id"),
    sa.Index("ix_principals_principal_id", "principal_id"),
)

access_keys = sa.Table(
    "access_keys",
    metadata,
    sa.Column("access_key_id", sa.String(ID), primary_key=True),
    sa.Column(
        "principal_arn",
        sa.String(ARN),
        sa.ForeignKey("principals.arn", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("account_id", sa.String(ACCOUNT), nullable=False),
    sa.Column("wrapped_secret", sa.LargeBinary, nullable=False),
    sa.Column("status", sa.String(ENUM), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    # STS credentials: SHA-256 of the session token (never the token) and an expiry.
    sa.Column("session_token_sha256", sa.LargeBinary, nullable=True),
    sa.Column("expires_at", sa.Double, nullable=True),
    sa.Index("ix_access_keys_principal_arn", "principal_arn"),
    sa.Index("ix_access_keys_expires_at", "expires_at"),
)

keys = sa.Table(
    "keys",
    metadata,
    # Surrogate, monotonically assigned: it *is* the creation order ListKeys pages by.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("region", sa.String(REGION), nullable=False),
    sa.Column("key_id", sa.String(ID), nullable=False),
    sa.Column("account_id", sa.String(ACCOUNT), nullable=False),
    sa.Column("partition", sa.String(PARTITION), nullable=False),
    sa.Column("key_spec", sa.String(ENUM), nullable=False),
    sa.Column("key_usage", sa.String(ENUM), nullable=False),
    sa.Column("origin", sa.String(ENUM), nullable=False),
    sa.Column("state", sa.String(ENUM), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("key_manager", sa.String(ENUM), nullable=False),
    sa.Column("multi_region", sa.Boolean, nullable=False),
    sa.Column("current_material_id", sa.String(ID), nullable=True),
    sa.Column("deletion_date", sa.Double, nullable=True),
    sa.Column("pending_window_days", sa.Integer, nullable=True),
    sa.Column("policy", sa.Text, nullable=True),
    sa.Column("custom_key_store_id", sa.String(ID), nullable=True),
    # Imported material (issue 4, revision 0002_lifecycle): spec §5.2 ExpirationModel/ValidTo.
    sa.Column("expiration_model", sa.String(ENUM), nullable=True),
    sa.Column("valid_to", sa.Double, nullable=True),
    # Multi-Region keys (issue 19, revision 0004_multi_region; spec §12): the primary's
    # Region on every member row, and a transient state's end and the state after it.
    sa.Column("primary_region", sa.String(REGION), nullable=True),
    sa.Column("transient_until", sa.Double, nullable=True),
    sa.Column("settled_state", sa.String(ENUM), nullable=True),
    sa.UniqueConstraint("region", "key_id", name="uq_keys_region_key_id"),
    sa.Index("ix_keys_listing", "account_id", "region", "id"),
    sa.Index("ix_keys_deletion_date", "deletion_date"),
    sa.Index("ix_keys_key_id", "key_id"),  # the members of a multi-Region key
)

key_materials = sa.Table(
    "key_materials",
    metadata,
    # Insertion order = version order (ListKeyRotations), independent of clock ties.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key_id", sa.String(ID), nullable=False),
    sa.Column("material_id", sa.String(ID), nullable=False),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
    sa.Column("state", sa.String(ENUM), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("rotation_type", sa.String(ENUM), nullable=True),
    # Imported material (issue 4, revision 0002_lifecycle; spec §9): PENDING_IMPORT marks
    # imported material, whose bytes live per member in key_material_imports (``wrapped``
    # is empty here); NULL for generated material.
    sa.Column("import_state", sa.String(ENUM), nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.UniqueConstraint("key_id", "material_id", name="uq_key_materials_key_id_material_id"),
)

# Imported material as each member of a key holds it (issue 19, revision
# 0019_mrk_member_material; spec §9, §12): a multi-Region key's members import, delete and
# expire the same material independently. A row exists only while imported there.
key_material_imports = sa.Table(
    "key_material_imports",
    metadata,
    sa.Column("region", sa.String(REGION), primary_key=True),
    sa.Column("key_id", sa.String(ID), primary_key=True),
    sa.Column("material_id", sa.String(ID), primary_key=True),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
    sa.Column("expiration_model", sa.String(ENUM), nullable=False),
    sa.Column("valid_to", sa.Double, nullable=True),
    sa.Index("ix_key_material_imports_valid_to", "valid_to"),
)

# Automatic rotation (spec §5.4), one row per key that ever had rotation enabled.
key_rotation_schedules = sa.Table(
    "key_rotation_schedules",
    metadata,
    sa.Column("region", sa.String(REGION), primary_key=True),
    sa.Column("key_id", sa.String(ID), primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("period_days", sa.Integer, nullable=False),
    sa.Column("next_rotation_at", sa.Double, nullable=True),
    sa.Index("ix_key_rotation_schedules_next_rotation_at", "next_rotation_at"),
)

# GetKeyLastUsage: flushed from memory by the sweeper, never written per request.
key_last_usage = sa.Table(
    "key_last_usage",
    metadata,
    sa.Column("region", sa.String(REGION), primary_key=True),
    sa.Column("key_id", sa.String(ID), primary_key=True),
    sa.Column("operation", sa.String(ENUM), nullable=False),
    sa.Column("used_at", sa.Double, nullable=False),
    sa.Column("request_id", sa.String(ID), nullable=True),
)

# When this database began tracking key usage (GetKeyLastUsage TrackingStartDate).
service_markers = sa.Table(
    "service_markers",
    metadata,
    sa.Column("name", sa.String(NAME), primary_key=True),
    sa.Column("value", sa.Double, nullable=False),
)

aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("account_id", sa.String(ACCOUNT), primary_key=True),
    sa.Column("region", sa.String(REGION), primary_key=True),
    sa.Column("name", sortable(NAME), primary_key=True),
    sa.Column("partition", sa.String(PARTITION), nullable=False),
    sa.Column("target_key_id", sa.String(ID), nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Index("ix_aliases_target", "region", "target_key_id"),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("region", sa.String(REGION), primary_key=True),
    sa.Column("key_id", sa.String(ID), primary_key=True),
    sa.Column("tag_key", sortable(NAME), primary_key=True),
    sa.Column("tag_value", sa.String(NAME), nullable=False),
    sa.ForeignKeyConstraint(
        ["region", "key_id"],
        ["keys.region", "keys.key_id"],
        name="fk_tags_region_key_id_keys",
        ondelete="CASCADE",
    ),
)

__all__ = [
    "NAMING_CONVENTION",
    "access_keys",
    "accounts",
    "aliases",
    "grants",
    "identity_policies",
    "key_last_usage",
    "key_material_imports",
    "key_materials",
    "key_rotation_schedules",
    "keys",
    "metadata",
    "principals",
    "roles",
    "service_markers",
    "sortable",
    "tags",
]

# Custom key stores (issue 7, revision 0002_custom_key_stores; spec §10.1). The PIN is
# wrapped under the root of trust; names are unique per account and Region.
custom_key_stores = sa.Table(
    "custom_key_stores",
    metadata,
    sa.Column("custom_key_store_id", sa.String(ID), primary_key=True),
    sa.Column("account_id", sa.String(ACCOUNT), nullable=False),
    sa.Column("region", sa.String(REGION), nullable=False),
    sa.Column("name", sa.String(NAME), nullable=False),
    sa.Column("store_type", sa.String(ENUM), nullable=False),
    sa.Column("cloud_hsm_cluster_id", sa.String(ID), nullable=True),
    sa.Column("trust_anchor_certificate", sa.Text, nullable=True),
    sa.Column("wrapped_password", sa.LargeBinary, nullable=False),
    sa.Column("connection_state", sa.String(ENUM), nullable=False),
    sa.Column("connection_error_code", sa.String(ENUM), nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.UniqueConstraint("account_id", "region", "name"),
)

# Issue 5 (revision 0003_authz; spec §7, §8). Roles extend their principals row; inline
# identity policies belong to a user or role principal; both go with the principal.
roles = sa.Table(
    "roles",
    metadata,
    sa.Column("arn", sa.String(ARN), sa.ForeignKey("principals.arn", ondelete="CASCADE"), primary_key=True),
    sa.Column("account_id", sa.String(ACCOUNT), nullable=False),
    sa.Column("name", sortable(NAME), nullable=False),
    sa.Column("role_id", sa.String(ID), nullable=False),
    sa.Column("trust_policy", sa.Text, nullable=False),
    sa.Column("max_session_duration", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Index("ix_roles_account_id", "account_id"),
)

identity_policies = sa.Table(
    "identity_policies",
    metadata,
    sa.Column(
        "principal_arn", sa.String(ARN), sa.ForeignKey("principals.arn", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("name", sortable(NAME), primary_key=True),
    sa.Column("document", sa.Text, nullable=False),
)

# Grants: ``id`` is the creation order ListGrants pages by; operations and constraints
# are JSON text (lists/objects of strings), read back exactly as written.
grants = sa.Table(
    "grants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("grant_id", sa.String(ID), nullable=False),
    sa.Column("region", sa.String(REGION), nullable=False),
    sa.Column("key_id", sa.String(ID), nullable=False),
    sa.Column("key_arn", sa.String(ARN), nullable=False),
    sa.Column("key_account_id", sa.String(ACCOUNT), nullable=False),
    sa.Column("issuing_account", sa.String(ARN), nullable=False),
    sa.Column("grantee_principal", sa.String(ARN), nullable=False),
    sa.Column("retiring_principal", sa.String(ARN), nullable=True),
    sa.Column("name", sa.String(NAME), nullable=True),
    sa.Column("operations", sa.Text, nullable=False),
    sa.Column("encryption_context_equals", sa.Text, nullable=True),
    sa.Column("encryption_context_subset", sa.Text, nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.UniqueConstraint("grant_id", name="uq_grants_grant_id"),
    sa.Index("ix_grants_key", "region", "key_id", "id"),
    sa.Index("ix_grants_retiring_principal", "retiring_principal", "id"),
    sa.Index("ix_grants_name", "region", "key_id", "name"),  # CreateGrant idempotency
)

# Issue 16 (revision 0004_audit): the audit trail. One trail per (account, region) holds
# the chain's tip; events are numbered gaplessly per trail and chained (domain.audit_chain)
# and stored in segments. Delivery remembers every log file and digest it wrote
# (sql_audit_delivery).
audit_trails = sa.Table(
    "audit_trails",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(ACCOUNT), nullable=False),
    sa.Column("region", sa.String(REGION), nullable=False),
    sa.Column("name", sa.String(NAME), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.LargeBinary, nullable=False),
    sa.Column("delivered_seq", sa.BigInteger, nullable=False),
    sa.Column("pruned_seq", sa.BigInteger, nullable=False),
    sa.Column("pruned_hash", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("account_id", "region", name="uq_audit_trails_account_id_region"),
)

# A segment: the events one append stored for one trail (a group-committed batch, or a
# mutation's event): sequence range, per-event times (8-byte big-endian seconds) and
# chain hashes (32 bytes each), their canonical bytes joined by "\n". See
# storage/sql_audit.py.
audit_segments = sa.Table(
    "audit_segments",
    metadata,
    sa.Column("trail_id", sa.Integer, primary_key=True),
    sa.Column("first_seq", sa.BigInteger, primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("times", sa.LargeBinary, nullable=False),
    sa.Column("hashes", sa.LargeBinary, nullable=False),
    sa.Column("bodies", sa.LargeBinary, nullable=False),
)

# What LookupEvents searches, one narrow row per segment: its time span, the attribute
# tokens its events carry ("\x1f"-framed) and, apart, their event ids.
audit_segment_index = sa.Table(
    "audit_segment_index",
    metadata,
    sa.Column("trail_id", sa.Integer, primary_key=True),
    sa.Column("first_seq", sa.BigInteger, primary_key=True),
    sa.Column("first_time", sa.Double, nullable=False),
    sa.Column("last_time", sa.Double, nullable=False),
    sa.Column("attrs", sa.Text, nullable=False),
    sa.Column("ids", sa.Text, nullable=False),
    sa.Index("ix_audit_segment_index_time", "trail_id", "first_time"),
)

audit_log_files = sa.Table(
    "audit_log_files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("trail_id", sa.Integer, nullable=False),
    sa.Column("bucket", sa.String(NAME), nullable=False),
    sa.Column("object_key", sa.String(1024), nullable=False),
    sa.Column("first_seq", sa.BigInteger, nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("oldest_event_time", sa.Double, nullable=False),
    sa.Column("newest_event_time", sa.Double, nullable=False),
    sa.Column("delivered_at", sa.Double, nullable=False),
    sa.Column("state", sa.String(ENUM), nullable=False),
    sa.Column("digest_number", sa.Integer, nullable=True),
    sa.UniqueConstraint("bucket", "object_key", name="uq_audit_log_files_bucket_object_key"),
    sa.Index("ix_audit_log_files_trail", "trail_id", "first_seq"),
)

audit_digests = sa.Table(
    "audit_digests",
    metadata,
    sa.Column("trail_id", sa.Integer, primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("bucket", sa.String(NAME), nullable=False),
    sa.Column("object_key", sa.String(1024), nullable=False),
    sa.Column("start_time", sa.Double, nullable=False),
    sa.Column("end_time", sa.Double, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("signature", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("state", sa.String(ENUM), nullable=False),
)

# Digest signing keys: the private half wrapped under the root of trust (or a reference to
# a key inside the HSM); rotation closes the old key's validity and keeps it listed.
audit_signing_keys = sa.Table(
    "audit_signing_keys",
    metadata,
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("public_der", sa.LargeBinary, nullable=False),
    sa.Column("private_blob", sa.LargeBinary, nullable=False),
    sa.Column("signer", sa.String(ENUM), nullable=False),
    sa.Column("valid_from", sa.Double, nullable=False),
    sa.Column("valid_to", sa.Double, nullable=True),
)

# Web console (issue 21): sign-in sessions by the SHA-256 of their cookie token, and the
# sign-in attempt counters that throttle guessing (per access key id and per source IP),
# shared by every node so the limit holds however requests are spread.
console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("principal_arn", sa.String(ARN), nullable=False),
    sa.Column("access_key_id", sa.String(ID), nullable=False),
    sa.Column("region", sa.String(REGION), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("last_seen_at", sa.Double, nullable=False),
    sa.Index("ix_console_sessions_expires_at", "expires_at"),
)

console_sign_in_attempts = sa.Table(
    "console_sign_in_attempts",
    metadata,
    sa.Column("subject", sa.String(NAME), primary_key=True),
    sa.Column("window_start", sa.Double, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
)

# Issue 20 (revision 0020_production). The invalidation feed's change log on SQLite
# (storage/change_feed.py: PostgreSQL uses NOTIFY instead, so this stays empty there),
# and leases: which process runs a cluster-wide background job (storage/leases.py).
cache_changes = sa.Table(
    "cache_changes",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sqlite_autoincrement=True,  # seq never goes back, even after the log is pruned
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(NAME), primary_key=True),
    sa.Column("holder", sa.String(NAME), nullable=False),
    # Fencing token: bumped whenever the lease changes hands.
    sa.Column("token", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
)

# S3 (issue 17) keeps its tables in their own module, on this same metadata.
from trent.storage import s3_tables as _s3_tables  # noqa: E402, F401
