namespace PhiMailGateway.Routing;

/// <summary>What the rules may look at about a message; built from the envelope, the headers and the inspection report.</summary>
/// <param name="Sender">Envelope sender (MAIL FROM).</param>
/// <param name="Subject">Decoded Subject header, or empty.</param>
/// <param name="Sensitivity">Outlook's Sensitivity header (Personal, Private, Company-Confidential), or null.</param>
/// <param name="HasDentalImage">Whether any part is of a protected kind.</param>
/// <param name="ImageKinds">Every image kind found (protected or not), by name.</param>
public sealed record MessageFacts(
    string Sender,
    string Subject,
    string? Sensitivity,
    bool HasDentalImage,
    IReadOnlySet<string> ImageKinds);

/// <summary>
/// Answers <c>RecipientHasCertificate</c>: whether a usable S/MIME certificate is known for the
/// address. The certificate store implements it; the gateway does not start without one.
/// </summary>
public interface IRecipientCertificates
{
    Task<CertificateAvailability> CheckAsync(string address, CancellationToken cancellationToken);
}

/// <param name="Usable">A certificate within validity, allowing key encipherment, for this address.</param>
/// <param name="Reason">Why not, when a certificate exists but is unusable (expired, wrong usage...); for the audit.</param>
public sealed record CertificateAvailability(bool Usable, string? Reason)
{
    public static readonly CertificateAvailability None = new(false, null);
}
