using System.Buffers;
using System.Text;
using PhiMailGateway.Spool;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Spool;

public class SpoolFileTests
{
    private static readonly Envelope Envelope = new("office@smiledental.example", ["dr.lee@specialist.example"], "frontdesk", "127.0.0.1", "pc1", DateTimeOffset.UnixEpoch, Secure: true);

    private static async Task<(SpoolEntry Entry, byte[] Message)> RoundTripAsync(TempDirectory dir, string body)
    {
        var path = System.IO.Path.Combine(dir.Path, "x.msg");
        await using (var file = File.Create(path))
        {
            await SpoolFile.WriteAsync(file, Envelope, "Received: x\r\n"u8.ToArray(), new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(body)), CancellationToken.None);
        }
        var entry = SpoolFile.Read(path);
        await using var stream = entry.OpenMessage();
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return (entry, copy.ToArray());
    }

    [Test]
    public async Task SpoolFile_RoundTrip_KeepsEnvelopeAndRestoresFinalCrlf()
    {
        using var dir = new TempDirectory();
        var (entry, message) = await RoundTripAsync(dir, "Subject: hi\r\n\r\nbody");
        Assert.That(entry.Envelope.Sender, Is.EqualTo(Envelope.Sender));
        Assert.That(entry.Envelope.Recipients, Is.EqualTo(Envelope.Recipients));
        Assert.That(entry.Envelope.AuthenticatedUser, Is.EqualTo("frontdesk"));
        Assert.That(Encoding.ASCII.GetString(message), Is.EqualTo("Received: x\r\nSubject: hi\r\n\r\nbody\r\n"),
            "the CRLF before the final dot belongs to the message");
        Assert.That(entry.MessageLength, Is.EqualTo(message.Length));
    }

    [Test]
    public async Task SpoolFile_LineEndsSplitAcrossSegments_CrLfKeptAndBareLfGetsCr()
    {
        // SmtpServer hands the message over in segments; a CRLF may be cut between two of them.
        using var dir = new TempDirectory();
        var path = System.IO.Path.Combine(dir.Path, "seg.msg");
        var first = new Segment(Encoding.ASCII.GetBytes("A: 1\r"));
        var last = first.Append(Encoding.ASCII.GetBytes("\nB: 2\n\nbare\nend\r\n"));
        await using (var file = File.Create(path))
            await SpoolFile.WriteAsync(file, Envelope, Array.Empty<byte>(), new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length), CancellationToken.None);
        await using var stream = SpoolFile.Read(path).OpenMessage();
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.That(Encoding.ASCII.GetString(copy.ToArray()), Is.EqualTo("A: 1\r\nB: 2\r\n\r\nbare\r\nend\r\n"));
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] data) => Memory = data;

        public Segment Append(byte[] data)
        {
            var next = new Segment(data) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }

    [Test]
    public async Task SpoolFile_BareLineFeeds_AreNormalisedSoNoLaterServerSeesAnEndOfData()
    {
        using var dir = new TempDirectory();
        var (_, message) = await RoundTripAsync(dir, "Subject: hi\r\n\r\nline\n.\nMAIL FROM:<evil@example>\r\nend\r\n");
        Assert.That(Encoding.ASCII.GetString(message), Is.EqualTo("Received: x\r\nSubject: hi\r\n\r\nline\r\n.\r\nMAIL FROM:<evil@example>\r\nend\r\n"));
    }

    [Test]
    public void SpoolFile_ForeignFile_IsRefusedAsInvalidData()
    {
        using var dir = new TempDirectory();
        var path = System.IO.Path.Combine(dir.Path, "bad.msg");
        File.WriteAllText(path, "Subject: not ours\r\n\r\n");
        Assert.That(() => SpoolFile.Read(path), Throws.TypeOf<InvalidDataException>());
        File.WriteAllText(path, "PHIMAIL-SPOOL 1\r\n{\"Sender\":\"a@b\"}\r\n");
        Assert.That(() => SpoolFile.Read(path), Throws.TypeOf<InvalidDataException>(), "an envelope without recipients is unusable");
    }

    [Test]
    public void ReceivedHeader_HostileHelo_CannotBreakTheHeader()
    {
        var envelope = Envelope with { HeloName = "evil\r\nBcc: x@y (comment)" };
        var header = Encoding.ASCII.GetString(ReceivedHeader.Build(envelope, "ABC", "gw.example"));
        Assert.That(header, Does.StartWith("Received: from evil__Bcc:_x@y__comment_ ([127.0.0.1])\r\n\tby gw.example (PhiMailGateway) with ESMTPSA id ABC;\r\n\t"));
        Assert.That(header.Split("\r\n"), Has.Length.EqualTo(4), "three header lines and the final CRLF");
    }

    [Test]
    public async Task SpoolFile_EnvelopeLongerThanTheFirstRead_IsReadWholeAndOffsetsAgree()
    {
        using var dir = new TempDirectory();
        var path = System.IO.Path.Combine(dir.Path, "many.msg");
        var many = Envelope with { Recipients = Enumerable.Range(0, 2000).Select(i => $"recipient{i}@lab.example").ToList() };
        (long Offset, long Length) written;
        await using (var file = File.Create(path))
        {
            written = await SpoolFile.WriteAsync(file, many, "Received: x\r\n"u8.ToArray(), new ReadOnlySequence<byte>("Subject: hi\r\n\r\nbody\r\n"u8.ToArray()), CancellationToken.None);
        }
        var entry = SpoolFile.Read(path);
        Assert.That(entry.Envelope.Recipients, Has.Count.EqualTo(2000));
        Assert.That((entry.MessageOffset, entry.MessageLength), Is.EqualTo(written), "what the writer reports is what a reader finds");
    }
}
