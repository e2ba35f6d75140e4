// swift-tools-version: 6.0
// circulate: a mailing-list and dissemination daemon for Communities of Practice.
import PackageDescription

/// Strictness for our own targets, declared once.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "circulate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "circulate", targets: ["circulate"]),
        .library(name: "CirculateCore", targets: ["CirculateCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        // libcurl from the system (Debian: libcurl4-openssl-dev).
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // cmark-gfm, GitHub Flavored Markdown's reference implementation (Debian: libcmark-gfm-dev and
        // libcmark-gfm-extensions-dev). Its module map links the static archives, so that an installed binary needs no
        // cmark-gfm package; there is no pkgConfig here because its Libs would add the shared libraries as well.
        .systemLibrary(
            name: "CCmarkGFM",
            providers: [.apt(["libcmark-gfm-dev", "libcmark-gfm-extensions-dev"])]
        ),
        // All behaviour lives here; it knows nothing of the command line.
        .target(
            name: "CirculateCore",
            dependencies: [
                "CCurl",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CSV", package: "CSV.swift"),
                .product(name: "Mustache", package: "swift-mustache"),
                "CCmarkGFM",
            ],
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        // The web pages (one-click unsubscribe, health): HTTP lives here, and calls the core.
        .target(
            name: "CirculateWeb",
            dependencies: [
                "CirculateCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The thin executable: parse, call the library, print.
        .executableTarget(
            name: "circulate",
            dependencies: [
                "CirculateCore",
                "CirculateWeb",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Test helpers shared by the test targets (a real SMTP server process).
        .target(
            name: "CirculateTestSupport",
            path: "Tests/Support",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CirculateCoreTests",
            dependencies: ["CirculateCore", "CirculateTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CirculateWebTests",
            dependencies: [
                "CirculateWeb", "CirculateCore", "CirculateTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CirculateCLITests",
            dependencies: ["CirculateCore", "CirculateTestSupport"],
            swiftSettings: strictSettings
        ),
    ]
)
