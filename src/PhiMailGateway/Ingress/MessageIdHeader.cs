using System.Buffers;
using System.Text;

namespace PhiMailGateway.Ingress;

/// <summary>
/// The Message-ID of a received message, for the accept line, so IT can match an Outlook "Sent" item
/// to a queue id. One pass over the header section only (it stops at the first empty line or after
/// <see cref="MaxScan"/> bytes). What it returns is safe to log: printable ASCII without spaces or
/// angle brackets, at most <see cref="MaxLength"/> characters; anything else reads as null.
/// </summary>
internal static class MessageIdHeader
{
    public const int MaxScan = 64 * 1024;
    public const int MaxLength = 128;

    public static string? Find(ReadOnlySequence<byte> message)
    {
        var head = message.Length > MaxScan ? message.Slice(0, MaxScan) : message;
        var reader = new SequenceReader<byte>(head);
        while (reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
        {
            if (line.Length <= 1) return null; // "\r" or empty: the header section ended
            if (line.Length < 11 || line.First.Span[0] is not ((byte)'M' or (byte)'m')) continue;
            var text = Encoding.ASCII.GetString(line.Length > 1024 ? line.Slice(0, 1024) : line).TrimEnd('\r');
            if (!text.StartsWith("Message-ID:", StringComparison.OrdinalIgnoreCase)) continue;
            var value = text["Message-ID:".Length..].Trim().Trim('<', '>');
            return value.Length is > 0 and <= MaxLength && value.All(c => c is > ' ' and < '\x7f' and not '<' and not '>') ? value : null;
        }
        return null;
    }
}
