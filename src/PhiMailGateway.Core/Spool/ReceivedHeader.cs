using System.Text;
using MimeKit.Utils;

namespace PhiMailGateway.Spool;

/// <summary>
/// Our trace header (RFC 5321 4.4). It names the client, our host, the protocol and the queue id,
/// but no recipient: a "for" clause would show a Bcc address to everyone else on the message.
/// </summary>
public static class ReceivedHeader
{
    public static byte[] Build(Envelope envelope, string queueId, string hostName)
    {
        // RFC 3848 protocol names: S for TLS, A for authenticated.
        var protocol = "ESMTP" + (envelope.Secure ? "S" : "") + (envelope.AuthenticatedUser is null ? "" : "A");
        var helo = Sanitize(envelope.HeloName) is { Length: > 0 } h ? h : "unknown";
        var text = $"Received: from {helo} ([{Sanitize(envelope.ClientAddress)}])\r\n" +
                   $"\tby {Sanitize(hostName)} (PhiMailGateway) with {protocol} id {queueId};\r\n" +
                   $"\t{DateUtils.FormatDate(envelope.ReceivedAt)}\r\n";
        return Encoding.ASCII.GetBytes(text);
    }

    /// <summary>HELO text is client-controlled: keep it to printable ASCII without spaces or brackets so it cannot break the header.</summary>
    private static string Sanitize(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        var sb = new StringBuilder(Math.Min(value.Length, 255));
        foreach (var c in value.AsSpan(0, Math.Min(value.Length, 255)))
            sb.Append(c is > ' ' and < (char)127 and not '(' and not ')' and not '[' and not ']' and not ';' ? c : '_');
        return sb.ToString();
    }
}
