using PhiMailGateway.Spool;

namespace PhiMailGateway.Tests.Spool;

public class QueueIdTests
{
    [Test]
    public void QueueId_New_IsValidAndSortsByTime()
    {
        var earlier = QueueId.New(DateTimeOffset.FromUnixTimeMilliseconds(1_000));
        var later = QueueId.New(DateTimeOffset.FromUnixTimeMilliseconds(2_000));
        Assert.That(QueueId.IsValid(earlier), Is.True, earlier);
        Assert.That(string.CompareOrdinal(earlier, later), Is.LessThan(0), "ids sort by acceptance time");
        Assert.That(QueueId.IsValid("../../etc/passwd"), Is.False, "ids become file names: nothing else passes");
    }
}
