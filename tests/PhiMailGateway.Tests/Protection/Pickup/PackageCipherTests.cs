using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Protection.Pickup;

public class PackageCipherTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    private static async Task<string> EncryptToFileAsync(TempDirectory dir, byte[] plain, string aad = "pkg|0")
    {
        var path = Path.Combine(dir.Path, Guid.NewGuid().ToString("N"));
        await using (var file = File.Create(path))
        {
            var (length, sha) = await PackageCipher.EncryptAsync(new MemoryStream(plain), file, Key, aad, CancellationToken.None);
            Assert.That(length, Is.EqualTo(plain.Length));
            Assert.That(sha, Is.EqualTo(Convert.ToHexString(SHA256.HashData(plain)).ToLowerInvariant()));
        }
        return path;
    }

    private static async Task<byte[]> DecryptAsync(string path, string aad = "pkg|0")
    {
        await using var stream = PackageCipher.OpenRead(path, Key, aad);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.That(copy.Length, Is.EqualTo(stream.Length), "Length is known before decrypting");
        return copy.ToArray();
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(PackageCipher.ChunkSize - 1)]
    [TestCase(PackageCipher.ChunkSize)]
    [TestCase(PackageCipher.ChunkSize + 1)]
    [TestCase(3 * PackageCipher.ChunkSize)]
    [TestCase(3 * PackageCipher.ChunkSize + 12345)]
    public async Task PackageCipher_RoundTrip_ReturnsThePlaintext(int size)
    {
        using var dir = new TempDirectory();
        var plain = RandomNumberGenerator.GetBytes(size);
        var path = await EncryptToFileAsync(dir, plain);
        Assert.That(await DecryptAsync(path), Is.EqualTo(plain));
    }

    [Test]
    public async Task PackageCipher_TruncatedAtAChunkBoundary_FailsAuthentication()
    {
        using var dir = new TempDirectory();
        var path = await EncryptToFileAsync(dir, RandomNumberGenerator.GetBytes(3 * PackageCipher.ChunkSize + 100));
        // Drop the final chunk: what is left is a whole number of authentic chunks.
        using (var f = new FileStream(path, FileMode.Open))
            f.SetLength(PackageCipher.HeaderSize + 3L * (PackageCipher.ChunkSize + PackageCipher.TagSize));
        Assert.ThrowsAsync(Is.InstanceOf<CryptographicException>(), () => DecryptAsync(path));
    }

    [Test]
    public async Task PackageCipher_FlippedBitOrOtherPackage_FailsAuthentication()
    {
        using var dir = new TempDirectory();
        var path = await EncryptToFileAsync(dir, RandomNumberGenerator.GetBytes(1000));
        Assert.ThrowsAsync(Is.InstanceOf<CryptographicException>(), () => DecryptAsync(path, "pkg|1"), "bound to its package and file");
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[PackageCipher.HeaderSize + 10] ^= 1;
        await File.WriteAllBytesAsync(path, bytes);
        Assert.ThrowsAsync(Is.InstanceOf<CryptographicException>(), () => DecryptAsync(path));
    }

    [Test]
    public void PickupSecrets_TokensAndCodes_HaveTheRightShape()
    {
        var token = PickupSecrets.NewToken();
        Assert.That(PickupSecrets.LooksLikeToken(token), Is.True);
        Assert.That(token, Has.Length.EqualTo(43), "256 bits in base64url");
        Assert.That(PickupSecrets.NewToken(), Is.Not.EqualTo(token));
        Assert.That(PickupSecrets.NewCode(), Does.Match("^[0-9]{6}$"));
        Assert.That(PickupSecrets.NormalizeCode(" 123 456 "), Is.EqualTo("123456"));
        Assert.That(PickupSecrets.NormalizeCode("12345"), Is.Null);
        Assert.That(PickupSecrets.NormalizeCode("12345a"), Is.Null);
    }

    [TestCase(0, false)]
    [TestCase(PackageCipher.ChunkSize, true)]
    [TestCase(5 * PackageCipher.ChunkSize + 777, false)]
    [TestCase(5 * PackageCipher.ChunkSize + 777, true)]
    public async Task EncryptStream_WrittenInPiecesOfAnySize_DecryptsToThePlaintext(int size, bool async)
    {
        using var dir = new TempDirectory();
        var plain = RandomNumberGenerator.GetBytes(size);
        var path = Path.Combine(dir.Path, "p.pkg");
        await using (var file = File.Create(path))
        await using (var sealing = await PackageCipher.OpenWriteAsync(file, Key, "pkg|0", hashPlaintext: true, CancellationToken.None))
        {
            var random = new Random(size);
            for (var at = 0; at < size;)
            {
                var n = Math.Min(size - at, random.Next(1, 3 * PackageCipher.ChunkSize));
                if (async) await sealing.WriteAsync(plain.AsMemory(at, n));
                else sealing.Write(plain, at, n);
                at += n;
            }
            await sealing.CompleteAsync(CancellationToken.None);
            Assert.That(sealing.Length, Is.EqualTo(size));
            Assert.That(sealing.Sha256, Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(plain))));
            Assert.Throws<InvalidOperationException>(() => sealing.Write([1]), "nothing after the final chunk");
        }
        Assert.That(await DecryptAsync(path), Is.EqualTo(plain));
    }

    [Test]
    public async Task EncryptStream_DisposedWithoutCompleting_LeavesAFileThatFailsAuthentication()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "p.pkg");
        await using (var file = File.Create(path))
        await using (var sealing = await PackageCipher.OpenWriteAsync(file, Key, "pkg|0", hashPlaintext: false, CancellationToken.None))
            await sealing.WriteAsync(RandomNumberGenerator.GetBytes(2 * PackageCipher.ChunkSize + 5));

        Assert.ThrowsAsync(Is.InstanceOf<CryptographicException>(), () => DecryptAsync(path));
    }

    [Test]
    public async Task PackageFile_Layout_IsTheDocumentedOneSoOlderFilesStayReadable()
    {
        // Decrypted here by hand from the layout in PackageCipher's summary, not with its reader:
        // a change to the nonce, the associated data or the header would strand every package at rest.
        using var dir = new TempDirectory();
        var plain = RandomNumberGenerator.GetBytes(2 * PackageCipher.ChunkSize + 10);
        var file = await File.ReadAllBytesAsync(await EncryptToFileAsync(dir, plain, "pkg-7|2"));

        Assert.That(file[..8], Is.EqualTo("PMGPKG1\n"u8.ToArray()));
        Assert.That(BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(8)), Is.EqualTo((uint)PackageCipher.ChunkSize));
        Assert.That(PackageCipher.HeaderSize, Is.EqualTo(20));
        var prefix = file[12..20];
        using var aes = new AesGcm(Key, 16);
        var recovered = new List<byte>();
        var at = 20;
        for (uint index = 0; at < file.Length; index++)
        {
            var sealedLength = Math.Min(PackageCipher.ChunkSize + 16, file.Length - at);
            var final = at + sealedLength == file.Length;
            var nonce = new byte[12];
            prefix.CopyTo(nonce, 0);
            BinaryPrimitives.WriteUInt32BigEndian(nonce.AsSpan(8), index);
            var aad = new byte[Encoding.UTF8.GetByteCount("pkg-7|2") + 5];
            Encoding.UTF8.GetBytes("pkg-7|2", aad);
            BinaryPrimitives.WriteUInt32BigEndian(aad.AsSpan(aad.Length - 5), index);
            aad[^1] = final ? (byte)1 : (byte)0;
            var chunk = new byte[sealedLength - 16];
            aes.Decrypt(nonce, file.AsSpan(at, chunk.Length), file.AsSpan(at + chunk.Length, 16), chunk, aad);
            recovered.AddRange(chunk);
            at += sealedLength;
        }
        Assert.That(recovered.ToArray(), Is.EqualTo(plain));
    }

    [Test]
    public async Task PackageCipher_ChunksSwapped_FailsAuthentication()
    {
        using var dir = new TempDirectory();
        var path = await EncryptToFileAsync(dir, RandomNumberGenerator.GetBytes(3 * PackageCipher.ChunkSize));
        var bytes = await File.ReadAllBytesAsync(path);
        const int sealedChunk = PackageCipher.ChunkSize + PackageCipher.TagSize;
        var first = bytes.AsSpan(PackageCipher.HeaderSize, sealedChunk).ToArray();
        bytes.AsSpan(PackageCipher.HeaderSize + sealedChunk, sealedChunk).CopyTo(bytes.AsSpan(PackageCipher.HeaderSize));
        first.CopyTo(bytes.AsSpan(PackageCipher.HeaderSize + sealedChunk));
        await File.WriteAllBytesAsync(path, bytes);
        Assert.ThrowsAsync(Is.InstanceOf<CryptographicException>(), () => DecryptAsync(path), "each chunk is bound to its position");
    }

    [TestCase(0)]
    [TestCase(PackageCipher.TagSize - 1)]
    public async Task PackageCipher_FileCutInsideItsHeaderOrTag_RefusedAsTruncated(int bodyBytes)
    {
        using var dir = new TempDirectory();
        var path = await EncryptToFileAsync(dir, []);
        using (var f = new FileStream(path, FileMode.Open)) f.SetLength(PackageCipher.HeaderSize + bodyBytes);
        var e = Assert.Throws<CryptographicException>(() => PackageCipher.OpenRead(path, Key, "pkg|0").Dispose());
        Assert.That(e!.Message, Is.EqualTo("Package file is truncated."));
    }

    [TestCase(1, PackageCipher.TagSize - 1)]
    [TestCase(2, 1)]
    public async Task PackageCipher_LastChunkAfterFullChunksShorterThanATag_RefusedAsTruncatedOnOpen(int fullChunks, int lastChunkBytes)
    {
        using var dir = new TempDirectory();
        var path = await EncryptToFileAsync(dir, RandomNumberGenerator.GetBytes(fullChunks * PackageCipher.ChunkSize + 100));
        const int sealedChunk = PackageCipher.ChunkSize + PackageCipher.TagSize;
        using (var f = new FileStream(path, FileMode.Open)) f.SetLength(PackageCipher.HeaderSize + (long)fullChunks * sealedChunk + lastChunkBytes);
        var e = Assert.Throws<CryptographicException>(() => PackageCipher.OpenRead(path, Key, "pkg|0").Dispose());
        Assert.That(e!.Message, Is.EqualTo("Package file is truncated."),
            "refused before any chunk is decrypted");
    }

    [TestCase(1, 100)]
    [TestCase(2, 0)]
    public async Task PackageDecryptStream_FullChunksAndALastOne_LengthKnownOnOpenFromTheFileSize(int fullChunks, int lastBytes)
    {
        using var dir = new TempDirectory();
        var plain = RandomNumberGenerator.GetBytes(fullChunks * PackageCipher.ChunkSize + lastBytes);
        var path = await EncryptToFileAsync(dir, plain);
        using var stream = PackageCipher.OpenRead(path, Key, "pkg|0");
        Assert.That(stream.Length, Is.EqualTo(plain.Length), "before anything is read");
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.That(copy.ToArray(), Is.EqualTo(plain));
    }

    [Test]
    public async Task EncryptStream_WrittenToOrCompletedAfterItsFinalChunk_RefusedSayingSo()
    {
        using var dir = new TempDirectory();
        await using var file = File.Create(Path.Combine(dir.Path, "p.pkg"));
        await using var sealing = await PackageCipher.OpenWriteAsync(file, Key, "pkg|0", hashPlaintext: true, CancellationToken.None);
        sealing.Write([1, 2, 3]);
        await sealing.CompleteAsync(CancellationToken.None);
        Assert.That(sealing.Sha256, Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData([1, 2, 3]))));

        var write = Assert.Throws<InvalidOperationException>(() => sealing.Write([4]));
        var again = Assert.ThrowsAsync<InvalidOperationException>(() => sealing.CompleteAsync(CancellationToken.None));
        Assert.That((write!.Message, again!.Message), Is.EqualTo(("The package file is already complete.", "The package file is already complete.")));
    }

    [Test]
    public async Task PackageCipher_FileCutInsideAChunk_FailsAuthentication()
    {
        using var dir = new TempDirectory();
        var path = await EncryptToFileAsync(dir, RandomNumberGenerator.GetBytes(2 * PackageCipher.ChunkSize + 100));
        using (var f = new FileStream(path, FileMode.Open)) f.SetLength(f.Length - 50);
        Assert.ThrowsAsync(Is.InstanceOf<CryptographicException>(), () => DecryptAsync(path));
    }

    [TestCase(0, "Not a package file.")]
    [TestCase(8, "Unsupported chunk size.")]
    public async Task PackageCipher_ForeignHeader_Refused(int offset, string expected)
    {
        using var dir = new TempDirectory();
        var path = await EncryptToFileAsync(dir, RandomNumberGenerator.GetBytes(100));
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[offset + 3] ^= 1;
        await File.WriteAllBytesAsync(path, bytes);
        var e = Assert.Throws<CryptographicException>(() => PackageCipher.OpenRead(path, Key, "pkg|0").Dispose());
        Assert.That(e!.Message, Is.EqualTo(expected));
    }

    [Test]
    public async Task PackageDecryptStream_ReadSynchronouslyInSmallPieces_ReturnsThePlaintextAndCountsPosition()
    {
        using var dir = new TempDirectory();
        var plain = RandomNumberGenerator.GetBytes(PackageCipher.ChunkSize + 3000);
        var path = await EncryptToFileAsync(dir, plain);
        using var stream = PackageCipher.OpenRead(path, Key, "pkg|0");
        Assert.That((stream.CanRead, stream.CanSeek, stream.CanWrite), Is.EqualTo((true, false, false)));
        var copy = new MemoryStream();
        var buffer = new byte[1000];
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            copy.Write(buffer, 0, n);
            Assert.That(stream.Position, Is.EqualTo(copy.Length));
        }
        Assert.That(copy.ToArray(), Is.EqualTo(plain));
        Assert.That(stream.Read(buffer, 0, buffer.Length), Is.Zero, "stays at the end");
    }

    [Test]
    public async Task PackageDecryptStream_EmptyPackage_ReadsNothing()
    {
        using var dir = new TempDirectory();
        var path = await EncryptToFileAsync(dir, []);
        using var stream = PackageCipher.OpenRead(path, Key, "pkg|0");
        Assert.That(stream.Length, Is.Zero);
        Assert.That(stream.Read(new byte[10], 0, 10), Is.Zero);
        Assert.That(await stream.ReadAsync(new byte[10]), Is.Zero);
    }

    [Test]
    public async Task EncryptStream_CompletedTwiceOrAfterDispose_Refused()
    {
        using var dir = new TempDirectory();
        await using var file = File.Create(Path.Combine(dir.Path, "p.pkg"));
        var sealing = await PackageCipher.OpenWriteAsync(file, Key, "pkg|0", hashPlaintext: false, CancellationToken.None);
        Assert.That(sealing.CanWrite, Is.True);
        await sealing.CompleteAsync(CancellationToken.None);
        Assert.That(sealing.CanWrite, Is.False, "complete: nothing more may be written");
        Assert.That(sealing.Sha256, Is.Null, "no hash was asked for");
        Assert.ThrowsAsync<InvalidOperationException>(() => sealing.CompleteAsync(CancellationToken.None), "a second final chunk would corrupt the file");
        await sealing.DisposeAsync();
        Assert.ThrowsAsync<ObjectDisposedException>(() => sealing.CompleteAsync(CancellationToken.None));
        Assert.Throws<ObjectDisposedException>(() => sealing.Write([1]));
    }

    [Test]
    public void SealSmall_RoundTrip_BoundToItsAssociatedData()
    {
        var secret = Encoding.UTF8.GetBytes("xray-left-molar.dcm");
        var sealedValue = PackageCipher.SealSmall(Key, secret, "pkg-1|name");
        Assert.That(sealedValue, Has.Length.EqualTo(PackageCipher.NonceSize + secret.Length + PackageCipher.TagSize));
        Assert.That(PackageCipher.OpenSmall(Key, sealedValue, "pkg-1|name"), Is.EqualTo(secret));
        Assert.That(PackageCipher.SealSmall(Key, secret, "pkg-1|name"), Is.Not.EqualTo(sealedValue), "a fresh random nonce each time");
        Assert.That(() => PackageCipher.OpenSmall(Key, sealedValue, "pkg-2|name"), Throws.InstanceOf<CryptographicException>(), "bound to its package");
        var tampered = sealedValue.ToArray();
        tampered[PackageCipher.NonceSize] ^= 1;
        Assert.That(() => PackageCipher.OpenSmall(Key, tampered, "pkg-1|name"), Throws.InstanceOf<CryptographicException>());
        Assert.That(PackageCipher.OpenSmall(Key, PackageCipher.SealSmall(Key, [], "a"), "a"), Is.Empty, "an empty value seals too");
    }

    [TestCase(0)]
    [TestCase(PackageCipher.NonceSize + PackageCipher.TagSize - 1)]
    public void OpenSmall_ShorterThanNonceAndTag_Refused(int length)
    {
        var e = Assert.Throws<CryptographicException>(() => PackageCipher.OpenSmall(Key, new byte[length], "a"));
        Assert.That(e!.Message, Is.EqualTo("Sealed value too short."));
    }
}
