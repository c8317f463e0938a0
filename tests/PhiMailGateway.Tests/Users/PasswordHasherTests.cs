using System.Security.Cryptography;
using PhiMailGateway.Users;

namespace PhiMailGateway.Tests.Users;

public class PasswordHasherTests
{
    [Test]
    public void PasswordHasher_RoundTrip_VerifiesAndDescribesItself()
    {
        var stored = PasswordHasher.Hash("correct horse");
        var parts = stored.Split('$');
        Assert.That(parts, Has.Length.EqualTo(4), stored);
        Assert.That(parts[0], Is.EqualTo("pbkdf2-sha256"));
        Assert.That(parts[1], Is.EqualTo(PasswordHasher.DefaultIterations.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(Convert.FromBase64String(parts[2]), Has.Length.EqualTo(16), "16-byte salt");
        Assert.That(Convert.FromBase64String(parts[3]), Has.Length.EqualTo(32), "32-byte hash");
        Assert.That(PasswordHasher.Verify("correct horse", stored), Is.True);
        Assert.That(stored, Does.Not.Contain("correct horse"));
    }

    [Test]
    public void PasswordHasher_WrongPassword_False()
    {
        var stored = PasswordHasher.Hash("correct horse");
        Assert.That(PasswordHasher.Verify("correct horsE", stored), Is.False);
        Assert.That(PasswordHasher.Verify("", stored), Is.False);
        Assert.That(PasswordHasher.Verify(null, stored), Is.False);
    }

    [Test]
    public void PasswordHasher_SamePasswordTwice_DifferentSaltsAndHashes()
    {
        var a = PasswordHasher.Hash("same", 10_000).Split('$');
        var b = PasswordHasher.Hash("same", 10_000).Split('$');
        Assert.That(a[2], Is.Not.EqualTo(b[2]), "salt is random per hash");
        Assert.That(a[3], Is.Not.EqualTo(b[3]), "so the hashes differ too");
    }

    [Test]
    public void PasswordHasher_OtherIterationCount_StillVerifies()
    {
        var stored = PasswordHasher.Hash("pw", 20_000);
        Assert.That(stored, Does.StartWith("pbkdf2-sha256$20000$"));
        Assert.That(PasswordHasher.Verify("pw", stored), Is.True, "stored hashes keep their own count, so the default can be raised");
        Assert.That(PasswordHasher.NeedsRehash(stored), Is.True);
        Assert.That(PasswordHasher.NeedsRehash(PasswordHasher.Hash("pw")), Is.False);
    }

    [Test]
    public void PasswordHasher_TamperedHash_False()
    {
        var stored = PasswordHasher.Hash("pw", 10_000);
        var parts = stored.Split('$');
        var hash = Convert.FromBase64String(parts[3]);
        hash[0] ^= 1;
        var tamperedHash = string.Join('$', parts[0], parts[1], parts[2], Convert.ToBase64String(hash));
        var salt = Convert.FromBase64String(parts[2]);
        salt[^1] ^= 1;
        var tamperedSalt = string.Join('$', parts[0], parts[1], Convert.ToBase64String(salt), parts[3]);
        var tamperedCount = string.Join('$', parts[0], "10001", parts[2], parts[3]);

        Assert.That(PasswordHasher.Verify("pw", tamperedHash), Is.False, "hash bit flipped");
        Assert.That(PasswordHasher.Verify("pw", tamperedSalt), Is.False, "salt bit flipped");
        Assert.That(PasswordHasher.Verify("pw", tamperedCount), Is.False, "iteration count changed");
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("garbage")]
    [TestCase("pbkdf2-sha256")]
    [TestCase("pbkdf2-sha256$$$")]
    [TestCase("pbkdf2-sha256$abc$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [TestCase("pbkdf2-sha256$-5$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [TestCase("pbkdf2-sha256$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [TestCase("pbkdf2-sha256$999999999$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [TestCase("pbkdf2-sha256$99999999999999999999$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [TestCase("pbkdf2-sha256$10000$not base64!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [TestCase("pbkdf2-sha256$10000$AAAAAAAAAAAAAAAAAAAAAA==$")]
    [TestCase("pbkdf2-sha512$10000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [TestCase("pbkdf2-sha256$10000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$extra")]
    public void PasswordHasher_GarbageStoredHash_FalseWithoutThrowing(string? stored)
    {
        Assert.That(() => PasswordHasher.Verify("pw", stored), Throws.Nothing);
        Assert.That(PasswordHasher.Verify("pw", stored), Is.False, stored);
    }

    [TestCase(9_999)]
    [TestCase(10_000_001)]
    public void PasswordHasher_HashWithCountOutsideTheBounds_Refused(int iterations)
    {
        Assert.That(() => PasswordHasher.Hash("pw", iterations), Throws.InstanceOf<ArgumentOutOfRangeException>(),
            "a hash the verifier would refuse to read back must not be written");
    }

    [Test]
    public void PasswordHasher_CountAtTheLowerBound_Verifies()
    {
        var stored = PasswordHasher.Hash("pw", 10_000);
        Assert.That(PasswordHasher.Verify("pw", stored), Is.True, "10,000 is the weakest count still accepted");
    }

    [TestCase(null, false)]
    [TestCase("", false)]
    [TestCase("garbage", false)]
    [TestCase("pbkdf2-sha256$10000$AAAAAAAAAAAAAAAAAAAAAA==", false)]
    [TestCase("pbkdf2-sha256$9999$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", false)]
    [TestCase("pbkdf2-sha256$10000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", true)]
    [TestCase("pbkdf2-sha256$10000000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", true)]
    [TestCase("pbkdf2-sha256$10000001$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", false)]
    public void PasswordHasher_IsWellFormed_OnlyForTheSchemeWithCountWithinTheBounds(string? stored, bool expected)
    {
        Assert.That(PasswordHasher.IsWellFormed(stored), Is.EqualTo(expected), stored);
        Assert.That(PasswordHasher.NeedsRehash(stored), Is.True, "nothing here has the default count, and garbage always needs a new hash");
    }

    [TestCase(8, 16, true)]
    [TestCase(7, 16, false)]
    [TestCase(64, 64, true)]
    [TestCase(65, 32, false)]
    [TestCase(16, 15, false)]
    [TestCase(16, 65, false)]
    public void PasswordHasher_SaltAndHashLengths_AcceptedOnlyWithinTheBounds(int saltBytes, int hashBytes, bool accepted)
    {
        // Written by hand: a stored row from an older or foreign writer, as the verifier meets it.
        var salt = RandomNumberGenerator.GetBytes(saltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2("pw", salt, 10_000, HashAlgorithmName.SHA256, hashBytes);
        var stored = PasswordHasher.Format(10_000, salt, hash);
        Assert.That(PasswordHasher.IsWellFormed(stored), Is.EqualTo(accepted), stored);
        Assert.That(PasswordHasher.Verify("pw", stored), Is.EqualTo(accepted), "only a hash within the bounds is checked at all");
    }

    [Test]
    public void PasswordHasher_StoredValueUpTo512Characters_ReadLongerRefused()
    {
        // Leading zeros in the count are legal digits, so a real hash can be padded to any length.
        var parts = PasswordHasher.Hash("pw", 10_000).Split('$');
        string Padded(int length) =>
            string.Join('$', parts[0], new string('0', length - (parts[0].Length + parts[2].Length + parts[3].Length + 3 + 5)) + "10000", parts[2], parts[3]);
        Assert.That(Padded(512), Has.Length.EqualTo(512));
        Assert.That(PasswordHasher.Verify("pw", Padded(512)), Is.True, "512 characters is the longest stored value read");
        Assert.That(PasswordHasher.Verify("pw", Padded(513)), Is.False, "longer is refused before it is split");
    }

    [Test]
    public void PasswordHasher_EmptyPassword_Refused()
    {
        Assert.That(() => PasswordHasher.Hash(""), Throws.InstanceOf<ArgumentException>());
    }
}
