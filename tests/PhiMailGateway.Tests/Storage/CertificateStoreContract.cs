using Org.BouncyCastle.X509;
using PhiMailGateway.Certificates;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage;

/// <summary>What every <see cref="ICertificateStore"/> must do, whatever the database behind it; each subclass supplies a fresh, empty store.</summary>
public abstract class CertificateStoreContract
{
    protected ICertificateStore Store { get; private set; } = null!;

    protected abstract Task<ICertificateStore> CreateAsync();

    protected abstract Task DestroyAsync();

    [SetUp]
    public async Task SetUpContract() => Store = await CreateAsync();

    [TearDown]
    public Task TearDownContract() => DestroyAsync();

    private static X509Certificate Bc(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate) => new(certificate.RawData);

    [Test]
    public async Task Import_RecipientAuthorityAndCrl_LoadForFindsThemAndASecondImportIsNotNew()
    {
        var ca = TestCertificates.Ca;
        var recipient = TestCertificates.CreateRecipient("Dr.Lee@Specialist.example", ca);
        var bundle = new CertificateBundle([Bc(recipient), Bc(ca)], [new X509Crl(TestCertificates.Crl(ca))]);

        var first = await Store.ImportAsync(bundle, null, CancellationToken.None);
        Assert.That(first.Certificates.Select(c => c.New), Is.EqualTo(new[] { true, true }));
        Assert.That((first.NewCrls, first.KnownCrls), Is.EqualTo((1, 0)));
        var again = await Store.ImportAsync(bundle, null, CancellationToken.None);
        Assert.That(again.Certificates.Select(c => c.New), Is.EqualTo(new[] { false, false }), "what is there stays as it is");
        Assert.That((again.NewCrls, again.KnownCrls), Is.EqualTo((0, 1)));

        var snapshot = await Store.LoadForAsync("dr.lee@specialist.example", CancellationToken.None);
        Assert.That(snapshot.Recipients.Select(r => r.Thumbprint), Is.EqualTo(new[] { CertificateFacts.Thumbprint(Bc(recipient)) }), "found without regard to case");
        Assert.That(snapshot.Authorities, Has.Count.EqualTo(1));
        Assert.That(snapshot.Crls, Has.Count.EqualTo(1));
        Assert.That((await Store.LoadForAsync("nobody@else.example", CancellationToken.None)).Recipients, Is.Empty);
    }

    [Test]
    public async Task Remove_AddressOfASharedCertificate_KeepsItForTheOtherAddress()
    {
        var shared = TestCertificates.CreateRecipient(null, TestCertificates.Ca, commonName: "Shared Front Desk");
        await Store.ImportAsync(new CertificateBundle([Bc(shared)], []), "front@lab.example", CancellationToken.None);
        await Store.ImportAsync(new CertificateBundle([Bc(shared)], []), "billing@lab.example", CancellationToken.None);

        Assert.That(await Store.RemoveAsync("FRONT@lab.example", CancellationToken.None), Is.EqualTo(1));

        Assert.That((await Store.LoadForAsync("front@lab.example", CancellationToken.None)).Recipients, Is.Empty);
        var all = await Store.LoadAllAsync(CancellationToken.None);
        Assert.That(all.Recipients.Single().Addresses, Is.EqualTo(new[] { "billing@lab.example" }), "the certificate still serves the other address");
        Assert.That(await Store.RemoveAsync(all.Recipients.Single().Thumbprint, CancellationToken.None), Is.EqualTo(1), "removed by thumbprint");
        Assert.That((await Store.LoadAllAsync(CancellationToken.None)).Recipients, Is.Empty);

        var own = TestCertificates.CreateRecipient("dr.lee@specialist.example", TestCertificates.Ca);
        await Store.ImportAsync(new CertificateBundle([Bc(own)], []), null, CancellationToken.None);
        Assert.That(await Store.RemoveAsync("dr.lee@specialist.example", CancellationToken.None), Is.EqualTo(1));
        Assert.That((await Store.LoadAllAsync(CancellationToken.None)).Recipients, Is.Empty, "a certificate nobody uses any more goes with its last address");
    }

    [Test]
    public async Task Import_CertificateWithoutAddressAndNoneGiven_RefusedAndNothingWritten()
    {
        var ca = TestCertificates.Ca;
        var nameless = TestCertificates.CreateRecipient(null, ca);

        Assert.ThrowsAsync<CertificateFileException>(() => Store.ImportAsync(new CertificateBundle([Bc(ca), Bc(nameless)], []), null, CancellationToken.None));

        var all = await Store.LoadAllAsync(CancellationToken.None);
        Assert.That((all.Recipients.Count, all.Authorities.Count), Is.EqualTo((0, 0)), "not even the authority of the refused file");
    }
}
