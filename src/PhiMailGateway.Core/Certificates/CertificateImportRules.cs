namespace PhiMailGateway.Certificates;

/// <summary>What a certificate import must satisfy before any store writes it, whatever the store.</summary>
public static class CertificateImportRules
{
    /// <summary>Throws <see cref="CertificateFileException"/> when the bundle cannot be imported as asked; returns the normalized <paramref name="address"/>.</summary>
    public static string? Check(CertificateBundle bundle, string? address)
    {
        var endEntities = bundle.Certificates.Where(c => !CertificateFacts.IsAuthority(c)).ToList();
        if (address is not null)
        {
            address = CertificateFacts.NormalizeAddress(address);
            if (!CertificateFacts.IsAddress(address)) throw new CertificateFileException($"'{address}' is not an e-mail address.");
            if (endEntities.Count != 1)
                throw new CertificateFileException(endEntities.Count > 1
                    ? $"--address needs a file with exactly one recipient certificate; this one has {endEntities.Count}."
                    : bundle.Certificates.Count == 0
                        ? "--address needs a recipient certificate; the file holds none."
                        : $"--address needs a recipient certificate; the file holds {Count(bundle.Certificates.Count, "certificate")}, only authorities, which no recipient gets S/MIME from ({CertificateFacts.WhyAuthority(bundle.Certificates[0])}).");
        }
        foreach (var certificate in endEntities)
        {
            if (address is null && CertificateFacts.Addresses(certificate).Count == 0)
                throw new CertificateFileException(
                    $"the certificate '{CertificateFacts.Name(certificate.SubjectDN)}' names no e-mail address (subject alternative name or E=); give the recipient's address with --address ADDR.");
        }
        return address;
    }

    private static string Count(int n, string noun) => n == 1 ? $"one {noun}" : $"{n} {noun}s";
}
