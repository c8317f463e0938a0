using System.Security.Cryptography;
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
}
