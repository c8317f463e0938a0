using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.Tests.PickupWeb;

public class RecipientTimeTests
{
    private static string At(string zone, int year, int month, int day) =>
        new RecipientTime(TimeZoneInfo.FindSystemTimeZoneById(zone)).DateAndTime(new DateTimeOffset(year, month, day, 15, 0, 0, TimeSpan.Zero));

    [Test]
    public void RecipientTime_ZonesWithAbbreviations_ShowLocalTimeAndTheAbbreviationOfThatDate()
    {
        Assert.That(At("America/New_York", 2026, 12, 17), Is.EqualTo("17 December 2026, 10:00 EST"));
        Assert.That(At("America/New_York", 2026, 7, 1), Is.EqualTo("1 July 2026, 11:00 EDT"));
        Assert.That(At("Europe/Berlin", 2026, 1, 5), Is.EqualTo("5 January 2026, 16:00 CET"));
        Assert.That(At("Europe/Berlin", 2026, 7, 5), Is.EqualTo("5 July 2026, 17:00 CEST"));
        Assert.That(At("America/Los_Angeles", 2040, 7, 5), Is.EqualTo("5 July 2040, 08:00 PDT"), "past the file's last transition: its rule");
        Assert.That(At("Etc/UTC", 2026, 7, 5), Is.EqualTo("5 July 2026, 15:00 UTC"));
    }

    [Test]
    public void RecipientTime_ZoneWithOnlyANumericAbbreviation_ShowsTheOffset()
    {
        Assert.That(At("Asia/Dubai", 2026, 7, 5), Is.EqualTo("5 July 2026, 19:00 UTC+04:00"));
    }

    [Test]
    public void PickupOptions_UnknownTimeZone_FailsNamingTheKey()
    {
        var result = new PickupOptionsValidator().Validate(null, new PickupOptions { TimeZone = "Mars/Olympus_Mons" });
        Assert.That(result.Failed, Is.True);
        Assert.That(string.Join("\n", result.Failures!), Does.Contain("Pickup:TimeZone: 'Mars/Olympus_Mons' is not a known IANA time zone"));
        Assert.That(new PickupOptionsValidator().Validate(null, new PickupOptions { TimeZone = "Europe/Berlin" }).Succeeded, Is.True);
        Assert.That(new PickupOptions().Times().Zone, Is.EqualTo(TimeZoneInfo.Local), "unset: the server's zone");
    }
}
