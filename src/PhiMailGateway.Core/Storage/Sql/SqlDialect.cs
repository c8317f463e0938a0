namespace PhiMailGateway.Storage.Sql;

/// <summary>
/// The few phrases SQLite and PostgreSQL spell differently, for the shared store bodies. Everything
/// else they share as written: upserts (<c>ON CONFLICT ... DO UPDATE SET x = excluded.x</c>),
/// <c>RETURNING</c>, <c>NOT flag</c> for the booleans (0/1 in SQLite). Store bodies build their SQL
/// from these once, in their constructors, so no call pays for it.
/// </summary>
internal sealed class SqlDialect
{
    public static readonly SqlDialect Sqlite = new(
        postgres: false,
        chainLock: null,
        triggerNames: "SELECT name FROM sqlite_master WHERE type = 'trigger'",
        auditTriggers:
        [
            "disclosures_no_update", "disclosures_no_delete",
            "disclosure_patients_no_update", "disclosure_patients_no_delete",
            "audit_events_no_update", "audit_events_no_delete",
        ]);

    public static readonly SqlDialect PostgreSql = new(
        postgres: true,
        chainLock: $"SELECT pg_advisory_xact_lock({Storage.PostgreSql.PostgreSqlGatewayStorage.AuditChainLock})",
        triggerNames: "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'",
        auditTriggers:
        [
            "disclosures_no_update", "disclosures_no_delete", "disclosures_no_truncate",
            "disclosure_patients_no_update", "disclosure_patients_no_delete", "disclosure_patients_no_truncate",
            "audit_events_no_update", "audit_events_no_delete", "audit_events_no_truncate",
        ]);

    private readonly bool _postgres;

    private SqlDialect(bool postgres, string? chainLock, string triggerNames, IReadOnlyList<string> auditTriggers)
    {
        _postgres = postgres;
        ChainLock = chainLock;
        TriggerNames = triggerNames;
        AuditTriggers = auditTriggers;
    }

    /// <summary>
    /// PostgreSQL binds a list as one array parameter (<c>= ANY(@list)</c>, no limit on its length);
    /// with SQLite, Dapper expands <c>IN @list</c> into one parameter per item.
    /// </summary>
    public bool ArrayParameters => _postgres;

    /// <summary>
    /// PostgreSQL runs writers side by side, so what must not interleave locks its rows first; SQLite's
    /// single writer (BEGIN IMMEDIATE) already holds the whole database, and has no row locks.
    /// </summary>
    public bool RowLocks => _postgres;

    /// <summary>
    /// The statement a transaction that appends to the audit chain runs before it touches any other
    /// row (PostgreSQL's transaction-level advisory lock), or null where the write lock already
    /// serialises every append (SQLite).
    /// </summary>
    public string? ChainLock { get; }

    /// <summary>The query that lists the names of the triggers present.</summary>
    public string TriggerNames { get; }

    /// <summary>The triggers this database's migrations create to keep the audit tables append-only.</summary>
    public IReadOnlyList<string> AuditTriggers { get; }

    /// <summary><c>column</c> is one of the list bound as <paramref name="parameter"/> (bound through <see cref="ListParameter{T}"/>).</summary>
    public string In(string column, string parameter) =>
        ArrayParameters ? $"{column} = ANY({parameter})" : $"{column} IN {parameter}";

    /// <summary>A list as <see cref="In"/> binds it: an array for PostgreSQL; SQLite takes any collection.</summary>
    public static T[] ListParameter<T>(IEnumerable<T> values) => values as T[] ?? values.ToArray();

    /// <summary>Appended to a SELECT whose rows the transaction changes next, so no other writer changes them meanwhile.</summary>
    public string ForUpdate => RowLocks ? " FOR UPDATE" : "";

    /// <summary>Appended to a SELECT of work to take: rows another writer holds are passed over, not waited for.</summary>
    public string ForUpdateSkipLocked => RowLocks ? " FOR UPDATE SKIP LOCKED" : "";

    /// <summary>A statement that locks the rows of <paramref name="table"/> matching <paramref name="where"/>, or null where writes are serialised anyway.</summary>
    public string? LockRows(string table, string where) => RowLocks ? $"SELECT 1 FROM {table} WHERE {where} FOR UPDATE" : null;

    /// <summary>Orders by <paramref name="column"/> byte by byte (SQLite's BINARY), whatever the database's collation.</summary>
    public string Binary(string column) => _postgres ? $"{column} COLLATE \"C\"" : column;

    /// <summary>Two text columns equal but for ASCII case.</summary>
    public string EqualIgnoringCase(string left, string right) =>
        _postgres ? $"lower({left}) = lower({right})" : $"{left} = {right} COLLATE NOCASE";
}
