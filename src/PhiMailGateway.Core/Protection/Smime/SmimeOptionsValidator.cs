using Microsoft.Extensions.Options;
using MimeKit.Cryptography;

namespace PhiMailGateway.Protection.Smime;

/// <summary>Start-up checks for <see cref="SmimeOptions"/>; every failure names the key.</summary>
public sealed class SmimeOptionsValidator : IValidateOptions<SmimeOptions>
{
    public ValidateOptionsResult Validate(string? name, SmimeOptions o)
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(o.KeyEncryption))
            errors.Add($"Smime:KeyEncryption: '{o.KeyEncryption}' is not one of {string.Join(", ", Enum.GetNames<SmimeKeyEncryption>())}.");
        if (o.SigningCertificatePath is { Length: > 0 } path)
        {
            if (!File.Exists(path))
            {
                errors.Add($"Smime:SigningCertificatePath: file '{path}' does not exist.");
            }
            else
            {
                try
                {
                    _ = PracticeSigner.Load(path, o.SigningCertificatePassword);
                }
                catch (Exception e)
                {
                    errors.Add($"Smime:SigningCertificatePath: cannot open '{path}' as a PFX with its private key " +
                               $"(is Smime__SigningCertificatePassword set in the environment and right?): {e.Message}");
                }
            }
        }
        TrustAnchorSet.Load(o.TrustAnchors, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>The practice's signing certificate, when <c>Smime:SigningCertificatePath</c> is set.</summary>
public sealed class PracticeSigner(SmimeOptions options)
{
    private readonly Lazy<CmsSigner?> _signer = new(() =>
        options.SigningCertificatePath is { Length: > 0 } path ? Load(path, options.SigningCertificatePassword) : null);

    /// <summary>Null when the practice does not sign.</summary>
    public CmsSigner? Signer => _signer.Value;

    public static CmsSigner Load(string path, string? password) =>
        new(path, password ?? "") { DigestAlgorithm = DigestAlgorithm.Sha256 };
}
