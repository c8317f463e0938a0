using Org.BouncyCastle.Pkix;
using Org.BouncyCastle.X509;
using PhiMailGateway.Certificates;

namespace PhiMailGateway.Protection.Smime;

/// <summary>
/// The roots named in <c>Smime:TrustAnchors</c>. Empty means no chain is required (IT vouches for each
/// imported certificate by importing it); configured means a recipient certificate counts only when it
/// chains to one of these roots through the authorities imported with <c>certs import</c>.
/// </summary>
public sealed class TrustAnchorSet
{
    public static readonly TrustAnchorSet None = new([]);

    public TrustAnchorSet(IReadOnlyList<X509Certificate> roots)
    {
        Roots = roots;
        Anchors = roots.Select(r => new TrustAnchor(r, null)).ToHashSet();
    }

    public IReadOnlyList<X509Certificate> Roots { get; }
    public ISet<TrustAnchor> Anchors { get; }
    public bool IsConfigured => Roots.Count > 0;

    /// <summary>Loads the files; each problem is reported with its key (<c>Smime:TrustAnchors:0</c>).</summary>
    public static TrustAnchorSet Load(IReadOnlyList<string> paths, List<string> errors)
    {
        var roots = new List<X509Certificate>();
        for (var i = 0; i < paths.Count; i++)
        {
            try
            {
                var bundle = CertificateFile.Read(paths[i]);
                if (bundle.Certificates.Count == 0) errors.Add($"Smime:TrustAnchors:{i}: '{paths[i]}' holds no certificate.");
                roots.AddRange(bundle.Certificates);
            }
            catch (CertificateFileException e)
            {
                errors.Add($"Smime:TrustAnchors:{i}: {e.Message}");
            }
        }
        return new TrustAnchorSet(roots);
    }
}
