package dev.movies.es.plugin;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.StopFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.charfilter.HTMLStripCharFilter;
import org.apache.lucene.analysis.core.KeywordTokenizer;
import org.apache.lucene.analysis.core.LetterTokenizer;
import org.apache.lucene.analysis.core.SimpleAnalyzer;
import org.apache.lucene.analysis.core.StopAnalyzer;
import org.apache.lucene.analysis.core.UpperCaseFilter;
import org.apache.lucene.analysis.core.WhitespaceAnalyzer;
import org.apache.lucene.analysis.core.WhitespaceTokenizer;
import org.apache.lucene.analysis.el.GreekLowerCaseFilter;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.en.EnglishMinimalStemFilter;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.apache.lucene.analysis.en.KStemFilter;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.apache.lucene.analysis.ga.IrishLowerCaseFilter;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.miscellaneous.TrimFilter;
import org.apache.lucene.analysis.ngram.EdgeNGramTokenFilter;
import org.apache.lucene.analysis.ngram.NGramTokenFilter;
import org.apache.lucene.analysis.ru.RussianAnalyzer;
import org.apache.lucene.analysis.ru.RussianLightStemFilter;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.apache.lucene.analysis.tr.TurkishLowerCaseFilter;
import org.apache.lucene.util.SetOnce;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.analysis.AbstractIndexAnalyzerProvider;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.AbstractTokenizerFactory;
import org.elasticsearch.index.analysis.Analysis;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.index.analysis.CharFilterFactory;
import org.elasticsearch.index.analysis.NormalizingTokenFilterFactory;
import org.elasticsearch.index.analysis.PreBuiltAnalyzerProviderFactory;
import org.elasticsearch.index.analysis.PreConfiguredCharFilter;
import org.elasticsearch.index.analysis.PreConfiguredTokenFilter;
import org.elasticsearch.index.analysis.PreConfiguredTokenizer;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.indices.analysis.PreBuiltCacheFactory.CachingStrategy;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Stand-in for two Elasticsearch modules that are not published to Maven Central:
 * <ul>
 *   <li>"rest-root": the {@code GET /} and {@code HEAD /} endpoints (cluster/version info, used by clients' info() and ping());</li>
 *   <li>"analysis-common": see below.</li>
 * </ul>
 *
 * For analysis it exposes, under the same names and with the same behaviour as analysis-common, the subset of analysis
 * components the project uses (plus a few cheap, commonly used ones), all implemented with Lucene classes from
 * lucene-analysis-common, which the server already depends on.
 */
public class MoviesPlugin extends Plugin implements AnalysisPlugin, ActionPlugin {

    // ---------------------------------------------------------------- GET / and HEAD / (the "rest-root" module)

    private final SetOnce<ClusterService> clusterService = new SetOnce<>();

    @Override
    public Collection<?> createComponents(PluginServices services) {
        clusterService.set(services.clusterService());
        return List.of();
    }

    @Override
    public Collection<RestHandler> getRestHandlers(
        Settings settings,
        NamedWriteableRegistry namedWriteableRegistry,
        RestController restController,
        ClusterSettings clusterSettings,
        IndexScopedSettings indexScopedSettings,
        SettingsFilter settingsFilter,
        IndexNameExpressionResolver indexNameExpressionResolver,
        Supplier<DiscoveryNodes> nodesInCluster,
        Predicate<NodeFeature> clusterSupportsFeature
    ) {
        return List.of(new RestRootAction(clusterService::get));
    }


    // ---------------------------------------------------------------- analyzers

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> m = new TreeMap<>();
        m.put(
            "english",
            (indexSettings, env, name, settings) -> provider(
                name,
                settings,
                new EnglishAnalyzer(
                    Analysis.parseStopWords(env, settings, EnglishAnalyzer.ENGLISH_STOP_WORDS_SET),
                    Analysis.parseStemExclusion(settings, CharArraySet.EMPTY_SET)
                )
            )
        );
        m.put(
            "russian",
            (indexSettings, env, name, settings) -> provider(
                name,
                settings,
                new RussianAnalyzer(
                    Analysis.parseStopWords(env, settings, RussianAnalyzer.getDefaultStopSet()),
                    Analysis.parseStemExclusion(settings, CharArraySet.EMPTY_SET)
                )
            )
        );
        m.put(
            "stop",
            (indexSettings, env, name, settings) -> provider(
                name,
                settings,
                new StopAnalyzer(Analysis.parseStopWords(env, settings, EnglishAnalyzer.ENGLISH_STOP_WORDS_SET))
            )
        );
        m.put("simple", (indexSettings, env, name, settings) -> provider(name, settings, new SimpleAnalyzer()));
        m.put("whitespace", (indexSettings, env, name, settings) -> provider(name, settings, new WhitespaceAnalyzer()));
        return m;
    }

    @Override
    public List<PreBuiltAnalyzerProviderFactory> getPreBuiltAnalyzerProviderFactories() {
        List<PreBuiltAnalyzerProviderFactory> l = new ArrayList<>();
        l.add(new PreBuiltAnalyzerProviderFactory("english", CachingStrategy.LUCENE, EnglishAnalyzer::new));
        l.add(new PreBuiltAnalyzerProviderFactory("russian", CachingStrategy.LUCENE, RussianAnalyzer::new));
        l.add(
            new PreBuiltAnalyzerProviderFactory(
                "stop",
                CachingStrategy.LUCENE,
                () -> new StopAnalyzer(EnglishAnalyzer.ENGLISH_STOP_WORDS_SET)
            )
        );
        l.add(new PreBuiltAnalyzerProviderFactory("simple", CachingStrategy.LUCENE, SimpleAnalyzer::new));
        l.add(new PreBuiltAnalyzerProviderFactory("whitespace", CachingStrategy.LUCENE, WhitespaceAnalyzer::new));
        return l;
    }

    private static <A extends Analyzer> AnalyzerProvider<A> provider(String name, Settings settings, A analyzer) {
        return new AbstractIndexAnalyzerProvider<A>(name, settings) {
            @Override
            public A get() {
                return analyzer;
            }
        };
    }

    // ---------------------------------------------------------------- token filters

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        Map<String, AnalysisProvider<TokenFilterFactory>> m = new TreeMap<>();
        m.put("lowercase", (indexSettings, env, name, settings) -> {
            String language = settings.get("language");
            Function<TokenStream, TokenStream> f;
            if (language == null) {
                f = LowerCaseFilter::new;
            } else {
                f = switch (language.toLowerCase(Locale.ROOT)) {
                    case "greek" -> GreekLowerCaseFilter::new;
                    case "irish" -> IrishLowerCaseFilter::new;
                    case "turkish" -> TurkishLowerCaseFilter::new;
                    default -> throw new IllegalArgumentException("language [" + language + "] not supported for lowercase");
                };
            }
            return normalizing(name, settings, f);
        });
        m.put("uppercase", (indexSettings, env, name, settings) -> normalizing(name, settings, UpperCaseFilter::new));
        m.put("asciifolding", (indexSettings, env, name, settings) -> {
            boolean preserveOriginal = settings.getAsBoolean("preserve_original", false);
            return new AbstractTokenFilterFactory(name, settings) {
                @Override
                public TokenStream create(TokenStream tokenStream) {
                    return new ASCIIFoldingFilter(tokenStream, preserveOriginal);
                }

                @Override
                public TokenStream normalize(TokenStream tokenStream) {
                    // a normalizer must produce exactly one token: never keep the original next to the folded form
                    return new ASCIIFoldingFilter(tokenStream, false);
                }
            };
        });
        m.put("trim", (indexSettings, env, name, settings) -> normalizing(name, settings, TrimFilter::new));
        m.put("stemmer", (indexSettings, env, name, settings) -> {
            String language = settings.get("language", settings.get("name", "porter"));
            Function<TokenStream, TokenStream> f = stemmer(language);
            return plain(name, settings, f);
        });
        m.put("porter_stem", (indexSettings, env, name, settings) -> plain(name, settings, PorterStemFilter::new));
        m.put("kstem", (indexSettings, env, name, settings) -> plain(name, settings, KStemFilter::new));
        m.put("snowball", (indexSettings, env, name, settings) -> {
            String language = settings.get("language", "English");
            return plain(name, settings, ts -> new SnowballFilter(ts, language));
        });
        m.put("edge_ngram", (indexSettings, env, name, settings) -> {
            int min = settings.getAsInt("min_gram", 1);
            int max = settings.getAsInt("max_gram", 2);
            boolean preserve = settings.getAsBoolean("preserve_original", false);
            checkNgramDiff(indexSettings, min, max);
            return plain(name, settings, ts -> new EdgeNGramTokenFilter(ts, min, max, preserve));
        });
        m.put("ngram", (indexSettings, env, name, settings) -> {
            int min = settings.getAsInt("min_gram", 1);
            int max = settings.getAsInt("max_gram", 2);
            boolean preserve = settings.getAsBoolean("preserve_original", false);
            checkNgramDiff(indexSettings, min, max);
            return plain(name, settings, ts -> new NGramTokenFilter(ts, min, max, preserve));
        });
        return m;
    }

    private static void checkNgramDiff(IndexSettings indexSettings, int min, int max) {
        int allowed = indexSettings.getMaxNgramDiff();
        if (max - min > allowed) {
            throw new IllegalArgumentException(
                "The difference between max_gram and min_gram in NGram Tokenizer must be less than or equal to: ["
                    + allowed
                    + "] but was ["
                    + (max - min)
                    + "]. This limit can be set by changing the ["
                    + IndexSettings.MAX_NGRAM_DIFF_SETTING.getKey()
                    + "] index level setting."
            );
        }
    }

    static Function<TokenStream, TokenStream> stemmer(String language) {
        return switch (language.toLowerCase(Locale.ROOT)) {
            case "english", "porter" -> PorterStemFilter::new;
            case "light_english", "kstem" -> KStemFilter::new;
            case "minimal_english" -> EnglishMinimalStemFilter::new;
            case "possessive_english" -> EnglishPossessiveFilter::new;
            case "porter2" -> ts -> new SnowballFilter(ts, "English");
            case "russian" -> ts -> new SnowballFilter(ts, "Russian");
            case "light_russian" -> RussianLightStemFilter::new;
            default -> throw new IllegalArgumentException("stemmer language [" + language + "] is not supported by this node");
        };
    }

    private static TokenFilterFactory normalizing(String name, Settings settings, Function<TokenStream, TokenStream> f) {
        class Normalizing extends AbstractTokenFilterFactory implements NormalizingTokenFilterFactory {
            Normalizing() {
                super(name, settings);
            }

            @Override
            public TokenStream create(TokenStream tokenStream) {
                return f.apply(tokenStream);
            }
        }
        return new Normalizing();
    }

    private static TokenFilterFactory plain(String name, Settings settings, Function<TokenStream, TokenStream> f) {
        return new AbstractTokenFilterFactory(name, settings) {
            @Override
            public TokenStream create(TokenStream tokenStream) {
                return f.apply(tokenStream);
            }
        };
    }

    @Override
    public List<PreConfiguredTokenFilter> getPreConfiguredTokenFilters() {
        // "lowercase" is already pre-configured (multi-term aware) by the server itself.
        List<PreConfiguredTokenFilter> l = new ArrayList<>();
        l.add(PreConfiguredTokenFilter.singleton("asciifolding", true, ASCIIFoldingFilter::new));
        l.add(PreConfiguredTokenFilter.singleton("uppercase", true, UpperCaseFilter::new));
        l.add(PreConfiguredTokenFilter.singleton("trim", true, TrimFilter::new));
        l.add(PreConfiguredTokenFilter.singleton("porter_stem", false, PorterStemFilter::new));
        l.add(PreConfiguredTokenFilter.singleton("kstem", false, KStemFilter::new));
        l.add(PreConfiguredTokenFilter.singleton("stemmer", false, PorterStemFilter::new));
        l.add(PreConfiguredTokenFilter.singleton("snowball", false, ts -> new SnowballFilter(ts, "English")));
        l.add(PreConfiguredTokenFilter.singleton("russian_stem", false, ts -> new SnowballFilter(ts, "Russian")));
        l.add(
            PreConfiguredTokenFilter.singleton(
                "stop",
                false,
                ts -> new StopFilter(ts, EnglishAnalyzer.ENGLISH_STOP_WORDS_SET)
            )
        );
        l.add(PreConfiguredTokenFilter.singleton("edge_ngram", false, false, ts -> new EdgeNGramTokenFilter(ts, 1, 1, false)));
        l.add(PreConfiguredTokenFilter.singleton("ngram", false, false, ts -> new NGramTokenFilter(ts, 1, 2, false)));
        return l;
    }

    // ---------------------------------------------------------------- tokenizers and char filters

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        Map<String, AnalysisProvider<TokenizerFactory>> m = new TreeMap<>();
        m.put("whitespace", (indexSettings, env, name, settings) -> tokenizer(indexSettings, settings, name, WhitespaceTokenizer::new));
        m.put("keyword", (indexSettings, env, name, settings) -> tokenizer(indexSettings, settings, name, KeywordTokenizer::new));
        m.put("letter", (indexSettings, env, name, settings) -> tokenizer(indexSettings, settings, name, LetterTokenizer::new));
        return m;
    }

    private static TokenizerFactory tokenizer(
        IndexSettings indexSettings,
        Settings settings,
        String name,
        Supplier<Tokenizer> supplier
    ) {
        return new AbstractTokenizerFactory(indexSettings, settings, name) {
            @Override
            public Tokenizer create() {
                return supplier.get();
            }
        };
    }

    @Override
    public List<PreConfiguredTokenizer> getPreConfiguredTokenizers() {
        List<PreConfiguredTokenizer> l = new ArrayList<>();
        l.add(PreConfiguredTokenizer.singleton("whitespace", WhitespaceTokenizer::new));
        l.add(PreConfiguredTokenizer.singleton("keyword", KeywordTokenizer::new));
        l.add(PreConfiguredTokenizer.singleton("letter", LetterTokenizer::new));
        return l;
    }

    @Override
    public Map<String, AnalysisProvider<CharFilterFactory>> getCharFilters() {
        Map<String, AnalysisProvider<CharFilterFactory>> m = new TreeMap<>();
        m.put("html_strip", (indexSettings, env, name, settings) -> new CharFilterFactory() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public java.io.Reader create(java.io.Reader reader) {
                List<String> escaped = settings.getAsList("escaped_tags");
                return escaped.isEmpty() ? new HTMLStripCharFilter(reader) : new HTMLStripCharFilter(reader, new java.util.HashSet<>(escaped));
            }
        });
        return m;
    }

    @Override
    public List<PreConfiguredCharFilter> getPreConfiguredCharFilters() {
        return List.of(PreConfiguredCharFilter.singleton("html_strip", false, HTMLStripCharFilter::new));
    }
}
