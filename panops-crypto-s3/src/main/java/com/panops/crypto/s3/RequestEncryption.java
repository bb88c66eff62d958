package com.panops.crypto.s3;

import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import java.util.Objects;
import java.util.function.Consumer;
import software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration;
import software.amazon.awssdk.core.interceptor.ExecutionAttribute;

/**
 * Per-request encryption settings, carried in the SDK's request override configuration as execution
 * attributes (no new request types):
 *
 * <pre>{@code
 * s3.putObject(PutObjectRequest.builder().bucket(b).key(k)
 *         .overrideConfiguration(RequestEncryption.with(
 *             KeyContext.of("class", "mail"), MessageAad.of("rev", "7")))
 *         .build(),
 *     RequestBody.fromBytes(body));
 * s3.getObject(GetObjectRequest.builder().bucket(b).key(k)
 *     .overrideConfiguration(RequestEncryption.with(
 *         KeyContext.of("class", "mail"), MessageAad.of("rev", "7")))
 *     .build());
 * }</pre>
 *
 * <ul>
 *   <li>{@link #KEY_CONTEXT} replaces the client's default key context (sent to KMS, part of the
 *       data-key cache key: keep it coarse).
 *   <li>{@link #EXTRA_AAD} adds pairs to the message AAD the adapter builds from bucket and key
 *       (never sent to KMS: may be fine-grained, e.g. a revision counter the application keeps,
 *       which is what detects an older object restored over a newer one). Its keys must not start
 *       with {@code panops:}.
 * </ul>
 *
 * <p>A read must name the same key context and extra AAD as the write, or it fails with {@link
 * S3IntegrityException}. The attributes stay in the override configuration handed to the wrapped
 * client, where they have no effect (they are not sent on the wire).
 */
public final class RequestEncryption {
  private RequestEncryption() {}

  /** The key context of this request, instead of the client's default. */
  public static final ExecutionAttribute<KeyContext> KEY_CONTEXT =
      new ExecutionAttribute<>("PanopsS3KeyContext");

  /** Message AAD pairs added to the adapter's bucket-and-key pairs for this request. */
  public static final ExecutionAttribute<MessageAad> EXTRA_AAD =
      new ExecutionAttribute<>("PanopsS3ExtraAad");

  /** Sets the request's key context. */
  public static Consumer<AwsRequestOverrideConfiguration.Builder> keyContext(KeyContext kc) {
    Objects.requireNonNull(kc, "keyContext");
    return b -> b.putExecutionAttribute(KEY_CONTEXT, kc);
  }

  /** Adds message AAD pairs for the request. */
  public static Consumer<AwsRequestOverrideConfiguration.Builder> extraAad(MessageAad aad) {
    Objects.requireNonNull(aad, "aad");
    return b -> b.putExecutionAttribute(EXTRA_AAD, aad);
  }

  /** Sets both. */
  public static Consumer<AwsRequestOverrideConfiguration.Builder> with(
      KeyContext kc, MessageAad aad) {
    Objects.requireNonNull(kc, "keyContext");
    Objects.requireNonNull(aad, "aad");
    return b -> b.putExecutionAttribute(KEY_CONTEXT, kc).putExecutionAttribute(EXTRA_AAD, aad);
  }
}
