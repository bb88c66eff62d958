package com.panops.crypto.spring;

import com.panops.crypto.KeyContext;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.s3.EncryptingS3Client;
import com.panops.crypto.s3.ServerSideLayer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.springframework.beans.factory.config.BeanFactoryPostProcessor;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.core.env.Environment;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * With {@code panops.crypto.s3.enabled=true}: the application's {@link S3Client} bean wrapped in an
 * {@link EncryptingS3Client} for {@code panops.crypto.s3.tenant}, registered as the <b>primary</b>
 * {@code S3Client} (bean {@value #ENCRYPTING_S3_CLIENT}). The application's own client stays a bean
 * under its own name and also under the alias {@value #PLAIN_S3_CLIENT}: inject it with
 * {@code @Qualifier("plainS3Client")} where plaintext access is meant (it never encrypts). The
 * application's client must therefore not itself be {@code @Primary}.
 */
@AutoConfiguration(after = PanopsCryptoAutoConfiguration.class)
@ConditionalOnClass({EncryptingS3Client.class, S3Client.class})
@ConditionalOnProperty(prefix = "panops.crypto.s3", name = "enabled", havingValue = "true")
public class PanopsCryptoS3AutoConfiguration {
  /** The alias of the application's plain S3Client. */
  public static final String PLAIN_S3_CLIENT = "plainS3Client";

  /** The bean name of the encrypting S3Client. */
  public static final String ENCRYPTING_S3_CLIENT = "encryptingS3Client";

  /** Gives the application's S3Client the alias {@value #PLAIN_S3_CLIENT}. */
  @Bean
  static BeanFactoryPostProcessor panopsPlainS3ClientAlias(Environment env) {
    return bf -> {
      String name = plainClientName(bf, env.getProperty("panops.crypto.s3.client-bean-name"));
      if (!name.equals(PLAIN_S3_CLIENT) && !bf.containsBean(PLAIN_S3_CLIENT)) {
        bf.registerAlias(name, PLAIN_S3_CLIENT);
      }
    };
  }

  /**
   * The encrypting client, the primary {@link S3Client}. Not closed by this bean: the wrapped
   * client is the application's bean and is closed as such.
   */
  @Bean(name = ENCRYPTING_S3_CLIENT, destroyMethod = "")
  @Primary
  public EncryptingS3Client encryptingS3Client(
      ConfigurableListableBeanFactory bf, PanopsCrypto crypto, PanopsCryptoProperties properties) {
    PanopsCryptoProperties.S3 p = properties.getS3();
    if (p.getTenant() == null || p.getTenant().isBlank()) {
      throw new IllegalStateException(
          "panops.crypto.s3.enabled=true needs panops.crypto.s3.tenant: the tenant whose CMK"
              + " encrypts through the S3Client");
    }
    S3Client plain = bf.getBean(plainClientName(bf, p.getClientBeanName()), S3Client.class);
    EncryptingS3Client.Builder b =
        EncryptingS3Client.builder()
            .s3Client(plain)
            .crypto(crypto)
            .tenant(p.getTenant())
            .serverSideLayer(
                p.isSseKms() ? ServerSideLayer.SSE_KMS : ServerSideLayer.BUCKET_DEFAULT);
    if (!p.getKeyContext().isEmpty()) {
      b.keyContext(KeyContext.from(p.getKeyContext()));
    }
    if (p.isAllowInsecureLocalS3Endpoint()) {
      b.allowInsecureLocalS3Endpoint();
    }
    try {
      return b.build();
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new IllegalStateException(
          "panops-crypto: the encrypting S3Client could not be built: "
              + e.getMessage()
              + (p.isAllowInsecureLocalS3Endpoint()
                  ? ""
                  : " (a plain-HTTP loopback S3 endpoint such as S3Mock needs"
                      + " panops.crypto.s3.allow-insecure-local-s3-endpoint=true; tests only)"),
          e);
    }
  }

  private static String plainClientName(ConfigurableListableBeanFactory bf, String configured) {
    List<String> candidates = new ArrayList<>();
    for (String name : bf.getBeanNamesForType(S3Client.class, true, false)) {
      Class<?> type = bf.getType(name, false);
      if (!ENCRYPTING_S3_CLIENT.equals(name)
          && (type == null || !EncryptingS3Client.class.isAssignableFrom(type))) {
        candidates.add(name);
      }
    }
    if (configured != null && !configured.isBlank()) {
      if (!candidates.contains(configured)) {
        throw new IllegalStateException(
            "panops.crypto.s3.client-bean-name="
                + configured
                + " names no plain S3Client bean; candidates: "
                + candidates);
      }
      return configured;
    }
    if (candidates.isEmpty()) {
      throw new IllegalStateException(
          "panops.crypto.s3.enabled=true but the application has no S3Client bean to wrap");
    }
    if (candidates.size() > 1) {
      throw new IllegalStateException(
          "panops.crypto.s3.enabled=true and there are several S3Client beans "
              + Arrays.toString(candidates.toArray())
              + ": set panops.crypto.s3.client-bean-name to the one to wrap");
    }
    return candidates.get(0);
  }
}
