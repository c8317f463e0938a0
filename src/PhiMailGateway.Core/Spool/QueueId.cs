using System.Security.Cryptography;

namespace PhiMailGateway.Spool;

/// <summary>
/// Queue ids: sortable by time of acceptance, unguessable enough to be unique across restarts,
/// and safe as file names. Twelve hex digits of milliseconds, then eight of randomness.
/// </summary>
public static class QueueId
{
    public static string New(DateTimeOffset now)
    {
        Span<byte> random = stackalloc byte[4];
        RandomNumberGenerator.Fill(random);
        return $"{now.ToUnixTimeMilliseconds():X12}{Convert.ToHexString(random)}";
    }

    /// <summary>True for strings that <see cref="New"/> could have produced; guards file paths built from ids.</summary>
    public static bool IsValid(string? id) =>
        id is { Length: 20 } && id.All(c => c is >= '0' and <= '9' or >= 'A' and <= 'F');
}
