namespace PhiMailGateway.Protection.Smime;

/// <summary>How the content-encryption key is wrapped for the recipient.</summary>
public enum SmimeKeyEncryption
{
    /// <summary>RSAES-PKCS1-v1_5: what Outlook, Apple Mail and Thunderbird all open.</summary>
    RsaPkcs1,

    /// <summary>RSAES-OAEP with SHA-256 and MGF1-SHA-256: stronger, but not every client decrypts it.</summary>
    RsaOaep,
}

/// <summary>Section <c>Smime</c>: S/MIME encryption to recipients and optional signing by the practice.</summary>
public sealed record SmimeOptions
{
    public const string Section = "Smime";

    public SmimeKeyEncryption KeyEncryption { get; init; } = SmimeKeyEncryption.RsaPkcs1;

    /// <summary>Optional PFX with the practice's own certificate and key; when set, messages are signed, then encrypted.</summary>
    public string? SigningCertificatePath { get; init; }

    /// <summary>Password of that PFX: environment only (<c>Smime__SigningCertificatePassword</c>).</summary>
    public string? SigningCertificatePassword { get; init; }

    /// <summary>Optional PEM/DER files of trusted root certificates; when set, a recipient certificate must chain to one.</summary>
    public string[] TrustAnchors { get; init; } = [];
}
