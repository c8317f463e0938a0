namespace PhiMailGateway.Direct;

/// <summary>
/// The domain of a mail address as direct delivery compares it: lower case, without a trailing dot,
/// empty without an <c>@</c>. The protector that makes one TLS-first copy per domain and the
/// transport that delivers per domain must group alike.
/// </summary>
public static class RecipientDomain
{
    public static string Of(string? address)
    {
        var at = address?.LastIndexOf('@') ?? -1;
        return at < 0 ? string.Empty : address![(at + 1)..].Trim().TrimEnd('.').ToLowerInvariant();
    }
}
