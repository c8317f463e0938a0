namespace PhiMailGateway.Guard;

/// <summary>
/// What the guard knows, kept by storage: the audit log's deliveries of dental images (read, never
/// written, here) and the addresses and domains people added.
/// </summary>
public interface IGuardStore
{
    /// <summary>
    /// Addresses (with the display name they were written with, when any) that a copy with dental
    /// images was delivered to, from audit events after <paramref name="afterSeq"/>, and the audit
    /// position read up to.
    /// </summary>
    Task<GuardHistory> ReadDeliveredSinceAsync(long afterSeq, CancellationToken cancellationToken);

    /// <summary>For each keyed PatientID hash, the addresses that were delivered images of that patient.</summary>
    Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> PatientRecipientsAsync(IReadOnlyCollection<string> patientLookups, CancellationToken cancellationToken);

    /// <summary>Changes with every add or remove, in any process.</summary>
    Task<long> KnownVersionAsync(CancellationToken cancellationToken);

    Task<IReadOnlyList<KnownEntry>> ListKnownAsync(CancellationToken cancellationToken);

    /// <summary>Adds an address or <c>@domain</c>; false when it was already there (its first source stays).</summary>
    Task<bool> AddKnownAsync(KnownEntry entry, CancellationToken cancellationToken);

    Task<bool> RemoveKnownAsync(string entry, CancellationToken cancellationToken);
}

public sealed record GuardHistory(IReadOnlyList<(string Address, string? Name)> Delivered, long ReadUpTo);

/// <param name="Entry">A lower-case address, or <c>@</c> and a domain in its ASCII form.</param>
/// <param name="Source"><see cref="KnownSources.It"/> or <see cref="KnownSources.Confirmed"/>.</param>
public sealed record KnownEntry(string Entry, string Source, DateTimeOffset AddedAt, string? AddedBy)
{
    public bool IsDomain => Entry.StartsWith('@');

    /// <summary>An address or <c>@domain</c> as IT types it, normalised; null when it is neither.</summary>
    public static string? Normalize(string text)
    {
        var t = text.Trim();
        if (t.StartsWith('@')) return GuardAddress.NormalizeDomain(t[1..]) is { } d ? "@" + d : null;
        return GuardAddress.Split(t) is var (local, domain) && local.Length > 0 && !local.Any(char.IsWhiteSpace) ? local + "@" + domain : null;
    }
}

public static class KnownSources
{
    public const string It = "it";
    public const string Confirmed = "confirmed";
}
