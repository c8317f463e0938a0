using System.Security.Cryptography;
using System.Text;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// The Message-ID and subject of the message a pickup package came from, for IT's <c>pickup list</c>
/// on the server (never for logs). The subject can name a patient, so it is sealed under a key
/// derived from the master key: the database alone does not show it. The label goes when the
/// package is purged, so the subject does not outlive the files.
/// </summary>
public sealed class PickupLabelCipher(MasterKey masterKey)
{
    private const string Purpose = "pickup-label/v1";
    private readonly byte[] _key = masterKey.Derive(Purpose);

    public SealedPickupLabel Seal(string packageId, PickupLabel label) =>
        new(label.MessageId, string.IsNullOrEmpty(label.Subject) ? null : PackageCipher.SealSmall(_key, Encoding.UTF8.GetBytes(label.Subject), Aad(packageId)));

    /// <summary>A subject that cannot be opened (sealed under another master key) reads as null.</summary>
    public PickupLabel Open(string packageId, SealedPickupLabel label) => new(label.MessageId, OpenSubject(packageId, label.SealedSubject));

    private string? OpenSubject(string packageId, byte[]? sealedSubject)
    {
        if (sealedSubject is null) return null;
        try
        {
            return Encoding.UTF8.GetString(PackageCipher.OpenSmall(_key, sealedSubject, Aad(packageId)));
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static string Aad(string packageId) => Purpose + "|" + packageId;
}

public sealed record PickupLabel(string? MessageId, string? Subject);
