package com.panops.crypto.testkit;

import java.util.Objects;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/**
 * A caller known to LocalKms: an IAM principal ARN and the test access key pair that identifies it
 * in SigV4-signed requests. {@link #toString()} never prints the secret.
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
