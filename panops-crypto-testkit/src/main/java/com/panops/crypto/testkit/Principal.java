package com.panops.crypto.testkit;

import java.util.Objects;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/**
 * A caller known to LocalKms: an IAM principal ARN and the test access key pair that identifies it
 * in SigV4-signed requests. {@link #toString()} never prints the secret.
 *
 * <p>The ARN may be an assumed-role session, {@code
 * arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION}, as workers run in AWS: the trail then records
 * that ARN as {@code userIdentity.arn} and the role ({@link #roleArn()}, {@code
 * arn:aws:iam::ACCOUNT:role/ROLE}) as the session issuer, and key policies that name the role (or
 * {@code aws:PrincipalArn} conditions) match the session, as in KMS.
 */
public record Principal(String arn, String accessKeyId, String secretAccessKey) {

  public Principal {
    Objects.requireNonNull(arn, "arn");
    Objects.requireNonNull(accessKeyId, "accessKeyId");
    Objects.requireNonNull(secretAccessKey, "secretAccessKey");
  }

  /** The AWS account id inside the ARN ({@code arn:aws:iam::ACCOUNT:...}), or "" if none. */
  public String accountId() {
    String[] parts = arn.split(":", 6);
    return parts.length >= 5 ? parts[4] : "";
  }

  /** Whether this is an assumed-role session ({@code arn:aws:sts::...:assumed-role/...}). */
  public boolean isAssumedRole() {
    return sessionIssuerArn() != null;
  }

  /**
   * For an assumed-role session, the role's ARN ({@code arn:aws:iam::ACCOUNT:role/ROLE}), as
   * CloudTrail records it in {@code sessionContext.sessionIssuer.arn}; null otherwise.
   */
  public String sessionIssuerArn() {
    return com.panops.crypto.testkit.internal.kms.KeyPolicy.roleOf(arn);
  }

  /**
   * The ARN key policies are evaluated against: the role of an assumed-role session (the value of
   * {@code aws:PrincipalArn}), else {@link #arn()}.
   */
  public String roleArn() {
    String issuer = sessionIssuerArn();
    return issuer != null ? issuer : arn;
  }

  /**
   * Static credentials for an AWS SDK v2 client. Needs {@code software.amazon.awssdk:auth} on the
   * class path (an optional dependency of the testkit; every SDK service client brings it).
   */
  public AwsCredentialsProvider credentialsProvider() {
    return StaticCredentialsProvider.create(
        AwsBasicCredentials.create(accessKeyId, secretAccessKey));
  }

  @Override
  public String toString() {
    return "Principal[arn=" + arn + ", accessKeyId=" + accessKeyId + ", secretAccessKey=***]";
  }
}
