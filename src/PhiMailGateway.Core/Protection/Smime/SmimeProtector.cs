using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Nist;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Cms;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Security;
using PhiMailGateway.Certificates;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Routing;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;
using X509Certificate = Org.BouncyCastle.X509.X509Certificate;

namespace PhiMailGateway.Protection.Smime;

/// <summary>
/// The Smime action: one copy per recipient, encrypted to that recipient's certificate only (never
/// to the sender as <c>MimeMessage.Encrypt</c> would, never to anyone else on the message). The outer
/// message keeps its headers (From, To, Cc, Date, Message-ID, Subject without rule tags; Bcc gone);
/// the whole original MIME body, optionally signed by the practice first, is the encrypted content.
/// <para>
/// CMS EnvelopedData with AES-256-CBC, set explicitly (MimeKit's default is Triple-DES); key transport
/// RSAES-PKCS1-v1_5 (what Outlook, Apple Mail and Thunderbird all read) or RSAES-OAEP-SHA-256 by
/// configuration. AES-GCM (AuthEnvelopedData) is not available in MimeKit or BouncyCastle's CMS.
/// </para>
/// <para>
/// Large attachments stream: MimeKit's <c>ApplicationPkcs7Mime.Encrypt</c> copies the content into
/// memory and encodes the envelope as one byte array, so the envelope is built by
/// <see cref="StreamingEnvelope"/> instead (BouncyCastle's ASN.1 and key transport, .NET's AES):
/// plaintext body (from the spool, content left on disk) → CMS stream → base64 into
/// <c>spool/outbound</c>, all on one thread (<see cref="EnvelopePart"/>). With several recipients
/// or a practice signature the plaintext goes through a scratch file first, written once.
/// No step holds the message in memory. The scratch file is owner-only and removed at once.
/// </para>
/// </summary>
public sealed partial class SmimeProtector(
    ICertificateStore store,
    TrustAnchorSet anchors,
    PracticeSigner signer,
    SmimeOptions options,
    SpoolDirectory spool,
    OutboundMessageWriter writer,
    TimeProvider time,
    ILogger<SmimeProtector> logger) : IProtector
{
    private static readonly FormatOptions CrLf = new() { NewLineFormat = NewLineFormat.Dos };

    private static readonly RsaesOaepParameters OaepSha256 = new(
        new AlgorithmIdentifier(NistObjectIdentifiers.IdSha256, DerNull.Instance),
        new AlgorithmIdentifier(PkcsObjectIdentifiers.IdMgf1, new AlgorithmIdentifier(NistObjectIdentifiers.IdSha256, DerNull.Instance)),
        RsaesOaepParameters.DefaultPSourceAlgorithm);

    public RoutingAction Action => RoutingAction.Smime;

    public async Task<IReadOnlyList<OutboundCopy>> ProtectAsync(ProtectionWork work, IReadOnlyList<RoutingDecision> recipients, CancellationToken cancellationToken)
    {
        var targets = new List<(RoutingDecision Decision, StoredCertificate Certificate)>();
        foreach (var decision in recipients)
        {
            var snapshot = await store.LoadForAsync(decision.Recipient, cancellationToken);
            using var smime = new GatewaySecureMimeContext(snapshot, anchors, time.GetUtcNow());
            var verdict = smime.Choose(decision.Recipient);
            // Routing saw a usable certificate. If it was removed or expired since, fail: the message is
            // processed again later, and routing then falls back to the next rule. Never send plain.
            if (verdict.Certificate is null)
                throw new InvalidOperationException($"The recipient certificate became unusable after routing ({verdict.Reason ?? "removed"}).");
            targets.Add((decision, verdict.Certificate));
        }

        var plaintext = Path.Combine(spool.Scratch, $"{work.QueueId}-smime.mime");
        try
        {
            await using var loaded = await OutboundMessageWriter.LoadAsync(work.Message, cancellationToken);
            var message = loaded.Message;
            OutboundMessageWriter.PrepareHeaders(message, work.SubjectTags);
            // A winmail.dat opens only in Outlook: the envelope carries the files inside it instead,
            // and the body is then written by MimeKit rather than copied as received.
            var unpacked = TnefUnpacker.UnpackAll(message);
            var body = message.Body ?? throw new InvalidDataException("The message has no body to encrypt.");
            Func<Stream, CancellationToken, Task> writeBody = unpacked
                ? (s, ct) => body.WriteToAsync(CrLf, s, ct)
                : (s, ct) => WriteBodyAsReceivedAsync(work.Message, body, s, ct);
            // One recipient and no signature: the body streams straight into the envelope. Otherwise
            // the content to encrypt is written once to a scratch file and read for each recipient.
            var direct = targets.Count == 1 && signer.Signer is null;
            if (!direct) await WritePlaintextAsync(body, writeBody, plaintext, cancellationToken);

            var copies = new List<OutboundCopy>();
            for (var i = 0; i < targets.Count; i++)
            {
                var (decision, certificate) = targets[i];
                var content = await WriteEncryptedCopyAsync(work, message, $"smime-{i + 1}", Recipient(certificate.Certificate),
                    direct ? writeBody : (s, ct) => CopyFileAsync(plaintext, s, ct), cancellationToken);
                copies.Add(new OutboundCopy(work.NextDeliveryId(), [decision.Recipient], content, Action.ToString(), decision.Rule!.Name, RequireTls: false,
                    Reference: certificate.Thumbprint));
            }
            LogEncrypted(logger, work.QueueId, copies.Count, signer.Signer is not null, options.KeyEncryption);
            return copies;
        }
        finally
        {
            File.Delete(plaintext);
        }
    }

    /// <summary>
    /// The outbound copy with the envelope as its body (<see cref="EnvelopePart"/>): while MimeKit
    /// writes the message, <paramref name="writePlaintext"/> feeds the envelope, which is encrypted
    /// and base64-encoded on its way into the copy's file.
    /// </summary>
    private Task<OutboundContent> WriteEncryptedCopyAsync(ProtectionWork work, MimeMessage message, string name, RecipientInfoGenerator recipient,
        Func<Stream, CancellationToken, Task> writePlaintext, CancellationToken cancellationToken)
    {
        message.Body = new EnvelopePart(async (output, ct) =>
        {
            await using var envelope = StreamingEnvelope.Open(output, recipient);
            await writePlaintext(envelope, ct);
        });
        return writer.WriteAsync(work, message, name, cancellationToken);
    }

    private RecipientInfoGenerator Recipient(X509Certificate certificate) =>
        options.KeyEncryption == SmimeKeyEncryption.RsaOaep
            ? new KeyTransRecipientInfoGenerator(certificate, new Asn1KeyWrapper(PkcsObjectIdentifiers.IdRsaesOaep, OaepSha256, certificate))
            : new KeyTransRecipientInfoGenerator(certificate, new Asn1KeyWrapper("RSA/NONE/PKCS1Padding", certificate)); // rsaEncryption: RSAES-PKCS1-v1_5, as BouncyCastle's AddKeyTransRecipient

    /// <summary>
    /// The body entity as it arrived: its Content-* headers as MimeKit holds them, a blank line, then
    /// the message's body bytes copied from the spool (where line ends are already CRLF). Letting
    /// MimeKit write the entity instead passes every byte of every part through its line-end filter,
    /// which the benchmark showed to be the largest cost of the stage; the result is the same entity,
    /// byte for byte as the sender's client wrote it.
    /// </summary>
    internal static async Task WriteBodyAsReceivedAsync(SpoolEntry source, MimeEntity body, Stream destination, CancellationToken cancellationToken)
    {
        await body.Headers.WriteToAsync(CrLf, destination, cancellationToken); // ends with the empty line
        await using var message = source.OpenMessage();
        var start = message.Position;
        var bodyOffset = await MessageLayout.FindBodyOffsetAsync(message, cancellationToken);
        if (bodyOffset is null) return;
        message.Position = start + bodyOffset.Value;
        await message.CopyToAsync(destination, 81920, cancellationToken);
    }

    private static async Task CopyFileAsync(string path, Stream destination, CancellationToken cancellationToken)
    {
        await using var input = InlineFileStream.OpenSequential(path);
        await input.CopyToAsync(destination, 81920, cancellationToken);
    }

    /// <summary>
    /// Writes the content to encrypt: the original body entity, or, with a practice certificate, a
    /// multipart/signed around it. The detached signature covers the body's bytes exactly as written
    /// here; the body is first made 7-bit clean so nothing on the way re-encodes (and breaks) it.
    /// </summary>
    private async Task WritePlaintextAsync(MimeEntity body, Func<Stream, CancellationToken, Task> writeBody, string path, CancellationToken cancellationToken)
    {
        if (signer.Signer is not { } cmsSigner)
        {
            await using var file = OwnerOnly.CreateNew(path);
            await writeBody(file, cancellationToken);
            return;
        }

        body.Prepare(EncodingConstraint.SevenBit, 78);
        var entityPath = path + ".entity";
        try
        {
            await using (var entity = OwnerOnly.CreateNew(entityPath))
                await body.WriteToAsync(CrLf, entity, cancellationToken);

            ApplicationPkcs7Signature signature;
            using (var smime = new GatewaySecureMimeContext(new CertificateSnapshot([], [], []), TrustAnchorSet.None, time.GetUtcNow(), cmsSigner))
            await using (var entity = InlineFileStream.OpenSequential(entityPath))
                signature = await smime.SignAsync(cmsSigner, entity, cancellationToken);

            var boundary = "=-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
            await using var file = OwnerOnly.CreateNew(path);
            await WriteAsciiAsync(file, "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;\r\n" +
                                        $"\tboundary=\"{boundary}\"\r\n\r\n--{boundary}\r\n", cancellationToken);
            await using (var entity = InlineFileStream.OpenSequential(entityPath))
                await entity.CopyToAsync(file, cancellationToken);
            await WriteAsciiAsync(file, $"\r\n--{boundary}\r\n", cancellationToken);
            await signature.WriteToAsync(CrLf, file, cancellationToken);
            await WriteAsciiAsync(file, $"\r\n--{boundary}--\r\n", cancellationToken);
        }
        finally
        {
            File.Delete(entityPath);
        }
    }

    private static Task WriteAsciiAsync(Stream stream, string text, CancellationToken cancellationToken) =>
        stream.WriteAsync(Encoding.ASCII.GetBytes(text), cancellationToken).AsTask();

    [LoggerMessage(EventId = 8101, Level = LogLevel.Information, Message = "{QueueId}: S/MIME encrypted {CopyCount} copies (signed: {Signed}, key transport {KeyEncryption})")]
    private static partial void LogEncrypted(ILogger logger, string queueId, int copyCount, bool signed, SmimeKeyEncryption keyEncryption);
}
