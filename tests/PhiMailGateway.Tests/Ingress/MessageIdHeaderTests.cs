using System.Buffers;
using System.Text;
using PhiMailGateway.Ingress;

namespace PhiMailGateway.Tests.Ingress;

public class MessageIdHeaderTests
{
    private static string? Find(string message) => MessageIdHeader.Find(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(message)));

    [TestCase("From: a@b.test\r\nmessage-id:   <abc.123@practice.test>  \r\n\r\nbody\r\n", "abc.123@practice.test")]
    [TestCase("Message-ID: <x@y>\r\nSubject: s\r\n\r\n", "x@y")]
    [TestCase("Subject: s\r\n\r\nMessage-ID: <in-the-body@y>\r\n", null)]
    [TestCase("Message-ID: <two words@y>\r\n\r\n", null)]
    [TestCase("Message-IDs: <x@y>\r\n\r\n", null)]
    [TestCase("Subject: no id\r\n\r\n", null)]
    public void MessageIdHeader_Find_OnlyAHeaderValueSafeToLog(string message, string? expected)
    {
        Assert.That(Find(message), Is.EqualTo(expected));
    }

    [Test]
    public void MessageIdHeader_OverlongValue_Null()
    {
        Assert.That(Find($"Message-ID: <{new string('a', 200)}@y>\r\n\r\n"), Is.Null, "bounded: a log line is not a place for 200 characters of id");
    }
}
