using System.Net;
using ARSoft.Tools.Net.Dns;
using PhiMailGateway.Direct;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Direct;

/// <summary>Direct delivery's lookups through a real DNS server on loopback.</summary>
public class DnsLookupTests
{
    private TestDnsServer _dns = null!;

    [OneTimeSetUp]
    public void StartDns()
    {
        _dns = TestDnsServer.Start();
        _dns.Mx("signed.test", 20, "mx2.signed.test").Mx("signed.test", 10, "mx1.signed.test")
            .A("mx1.signed.test", "127.0.0.2")
            .Tlsa("mx1.signed.test", 25, TlsaRecord.TlsaCertificateUsage.DaneEE, TlsaRecord.TlsaSelector.SubjectPublicKeyInfo,
                TlsaRecord.TlsaMatchingType.Sha256Hash, [1, 2, 3, 4])
            .Sign("signed.test");
        _dns.Mx("plain.test", 10, "mx.plain.test").A("mx.plain.test", "127.0.0.3")
            .Txt("_mta-sts.plain.test", "v=STSv1; id=20261204")
            .A("nomx.test", "127.0.0.4");
        _dns.Mx("forged.test", 10, "mx.forged.test").Bogus("forged.test").Sign("forged.test");
        _dns.Mx("slow.test", 10, "mx.slow.test").Silent("slow.test");
    }

    [OneTimeTearDown]
    public void StopDns() => _dns.Dispose();

    private DnsLookup Lookup(bool validating = true) =>
        new(new DirectOptions { Resolver = _dns.Resolver, ResolverValidatesDnssec = validating, DnsTimeout = TimeSpan.FromMilliseconds(300) });

    [Test]
    public async Task Mx_SignedZoneFromAValidatingResolver_IsAuthenticatedWithEveryHost()
    {
        var mx = await Lookup().MxAsync("signed.test", CancellationToken.None);
        Assert.That(mx.Status, Is.EqualTo(DnsStatus.Found));
        Assert.That(mx.Authenticated, Is.True);
        Assert.That(mx.Records.OrderBy(r => r.Preference), Is.EqualTo(new[] { new MxHost("mx1.signed.test", 10), new MxHost("mx2.signed.test", 20) }));
    }

    [Test]
    public async Task Mx_AdBitFromAResolverNotSaidToValidate_IsNotBelieved()
    {
        var mx = await Lookup(validating: false).MxAsync("signed.test", CancellationToken.None);
        Assert.That((mx.Status, mx.Authenticated), Is.EqualTo((DnsStatus.Found, false)));
    }

    [Test]
    public async Task Mx_UnsignedZone_IsFoundButNotAuthenticated()
    {
        var mx = await Lookup().MxAsync("plain.test", CancellationToken.None);
        Assert.That((mx.Status, mx.Authenticated, mx.Records.Single().Name), Is.EqualTo((DnsStatus.Found, false, "mx.plain.test")));
    }

    [Test]
    public async Task Mx_NameWithOnlyAnAddress_HasNoRecords_AndAnUnknownName_DoesNotExist()
    {
        var lookup = Lookup();
        Assert.That((await lookup.MxAsync("nomx.test", CancellationToken.None)).Status, Is.EqualTo(DnsStatus.NoRecords));
        Assert.That((await lookup.MxAsync("nowhere.test", CancellationToken.None)).Status, Is.EqualTo(DnsStatus.NoSuchName));
    }

    [Test]
    public async Task Mx_BogusAnswerOrSilence_FailsForNow()
    {
        var lookup = Lookup();
        var bogus = await lookup.MxAsync("forged.test", CancellationToken.None);
        Assert.That((bogus.Status, bogus.Authenticated, bogus.Records), Is.EqualTo((DnsStatus.Failed, false, Array.Empty<MxHost>())).Using(new AnswerComparer()));
        var slow = await lookup.MxAsync("slow.test", CancellationToken.None);
        Assert.That(slow.Status, Is.EqualTo(DnsStatus.Failed));
        Assert.That(_dns.Queries("slow.test", RecordType.Mx), Is.GreaterThanOrEqualTo(1), "asked, never answered");
    }

    [Test]
    public async Task Addresses_OfAnMxHost_AreItsARecords_SecureUnderASignedZone()
    {
        var lookup = Lookup();
        var signed = await lookup.AddressesAsync("mx1.signed.test", CancellationToken.None);
        Assert.That((signed.Status, signed.Authenticated), Is.EqualTo((DnsStatus.Found, true)));
        Assert.That(signed.Records, Is.EqualTo(new[] { IPAddress.Parse("127.0.0.2") }));
        var plain = await lookup.AddressesAsync("mx.plain.test", CancellationToken.None);
        Assert.That((plain.Status, plain.Authenticated), Is.EqualTo((DnsStatus.Found, false)));
        Assert.That((await lookup.AddressesAsync("mx.nowhere.test", CancellationToken.None)).Status, Is.EqualTo(DnsStatus.NoSuchName));
    }

    [Test]
    public async Task Tlsa_OfAnMxHost_ComesWithItsFields()
    {
        var tlsa = await Lookup().TlsaAsync("mx1.signed.test", 25, CancellationToken.None);
        Assert.That((tlsa.Status, tlsa.Authenticated), Is.EqualTo((DnsStatus.Found, true)));
        var record = tlsa.Records.Single();
        Assert.That((record.Usage, record.Selector, record.MatchingType, record.Data), Is.EqualTo((3, 1, 1, new byte[] { 1, 2, 3, 4 })));
        Assert.That((await Lookup().TlsaAsync("mx2.signed.test", 25, CancellationToken.None)).Status, Is.EqualTo(DnsStatus.NoSuchName));
    }

    [Test]
    public async Task Txt_ReadsTheMtaStsRecord()
    {
        var txt = await Lookup().TxtAsync("_mta-sts.plain.test", CancellationToken.None);
        Assert.That(txt.Records, Is.EqualTo(new[] { "v=STSv1; id=20261204" }));
    }

    private sealed class AnswerComparer : IEqualityComparer<(DnsStatus, bool, MxHost[])>
    {
        public bool Equals((DnsStatus, bool, MxHost[]) x, (DnsStatus, bool, MxHost[]) y) => x.Item1 == y.Item1 && x.Item2 == y.Item2 && x.Item3.SequenceEqual(y.Item3);
        public int GetHashCode((DnsStatus, bool, MxHost[]) obj) => 0;
    }
}
