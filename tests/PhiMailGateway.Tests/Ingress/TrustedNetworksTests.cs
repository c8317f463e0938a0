using System.Net;
using PhiMailGateway.Ingress;

namespace PhiMailGateway.Tests.Ingress;

public class TrustedNetworksTests
{
    [TestCase("127.0.0.0/8", "127.0.0.1", true)]
    [TestCase("127.0.0.0/8", "::ffff:127.0.0.1", true)]
    [TestCase("192.168.1.0/24", "::ffff:192.168.2.1", false)]
    [TestCase("::ffff:10.0.0.0/104", "10.1.2.3", true)]
    [TestCase("fd00::/8", "fd12::1", true)]
    [TestCase("fd00::/8", "10.0.0.1", false)]
    public void TrustedNetworks_Contains_NormalisesIpv4MappedAddresses(string cidr, string address, bool expected)
    {
        var networks = new TrustedNetworks([cidr]);

        Assert.That(networks.Contains(IPAddress.Parse(address)), Is.EqualTo(expected), $"{address} in {cidr}");
    }

    [Test]
    public void TrustedNetworks_Empty_TrustsNobody()
    {
        Assert.That(new TrustedNetworks([]).Contains(IPAddress.Loopback), Is.False);
        Assert.That(new TrustedNetworks(["0.0.0.0/0"]).Contains(null), Is.False, "an unknown client address is never trusted");
    }
}
