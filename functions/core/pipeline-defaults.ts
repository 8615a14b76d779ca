// The defaults of the existing system: its topics, functions, processors and rules (docs/ARCHITECTURE.md).
// Every value here is overridable per stack; see pipeline.ts for how overrides apply.
import type { PipelineConfig, ProcessorDef } from "./pipeline-types.ts";

const p = (name: string, aliases: string[] = [], outputTables: string[] = []): ProcessorDef => ({
  name,
  aliases,
  outputTables,
});

const PHASE3_ALL = [
  "player_game_summary",
  "team_defense_game_summary",
  "team_offense_game_summary",
  "upcoming_player_game_context",
  "upcoming_team_game_context",
];

export const DEFAULT_PIPELINE: PipelineConfig = {
  sport: "nba",
  timeZone: "America/New_York",
  transitions: [
    {
      id: "phase2-to-phase3",
      fromPhase: 2,
      toPhase: 3,
      functionName: "phase2-to-phase3-orchestrator",
      inputTopic: "phase2-raw-complete",
      outputTopic: "phase3-trigger",
      phaseWireName: "phase_2_raw",
      normaliseClassNames: false,
      processors: [
        p("p2_bigdataball_pbp", ["BigDataBallPbpProcessor", "BigdataballPbpProcessor"], ["bigdataball_play_by_play"]),
        p(
          "p2_odds_game_lines",
          ["OddsGameLinesProcessor", "OddsApiGameLinesProcessor", "OddsApiGameLinesBatchProcessor"],
          ["odds_api_game_lines"],
        ),
        p("p2_odds_player_props", ["OddsApiPropsProcessor", "OddsApiPropsBatchProcessor"], ["odds_api_player_points_props"]),
        p(
          "p2_nbacom_gamebook_pdf",
          ["NbacGamebookProcessor", "NbacGamebookPlayerStatsProcessor"],
          ["nbac_gamebook_player_stats"],
        ),
        p("p2_nbacom_boxscores", ["NbacPlayerBoxscoreProcessor", "NbacTeamBoxscoreProcessor"], [
          "nbac_player_boxscores",
          "nbac_team_boxscore",
        ]),
      ],
      rule: {
        kind: "all_complete",
        deadline: {
          enabled: false,
          afterFirstCompletionMinutes: 30,
          critical: ["p2_odds_game_lines", "p2_nbacom_gamebook_pdf", "p2_nbacom_boxscores"],
        },
      },
      stallAfterMinutes: 240,
      absenceAlertHours: 36,
    },
    {
      id: "phase3-to-phase4",
      fromPhase: 3,
      toPhase: 4,
      functionName: "phase3-to-phase4-orchestrator",
      inputTopic: "phase3-analytics-complete",
      outputTopic: "phase4-trigger",
      phaseWireName: "phase_3_analytics",
      normaliseClassNames: true,
      processors: PHASE3_ALL.map((name) => p(name, [], [name])),
      rule: {
        kind: "mode_aware",
        majorityPct: 60,
        modes: {
          overnight: {
            expected: PHASE3_ALL,
            critical: ["player_game_summary", "upcoming_player_game_context"],
            optional: ["team_defense_game_summary", "team_offense_game_summary", "upcoming_team_game_context"],
          },
          same_day: {
            expected: ["upcoming_player_game_context", "upcoming_team_game_context"],
            critical: ["upcoming_player_game_context"],
            optional: ["upcoming_team_game_context"],
          },
          tomorrow: {
            expected: ["upcoming_player_game_context", "upcoming_team_game_context"],
            critical: ["upcoming_player_game_context"],
            optional: ["upcoming_team_game_context"],
          },
        },
      },
      stallAfterMinutes: 240,
      absenceAlertHours: 36,
    },
    {
      id: "phase4-to-phase5",
      fromPhase: 4,
      toPhase: 5,
      functionName: "phase4-to-phase5-orchestrator",
      inputTopic: "phase4-precompute-complete",
      outputTopic: "predictions-trigger",
      phaseWireName: "phase_4_precompute",
      normaliseClassNames: true,
      processors: [
        p("team_defense_zone_analysis", ["TeamDefenseZoneAnalysisProcessor"], ["team_defense_zone_analysis"]),
        p("player_shot_zone_analysis", ["PlayerShotZoneAnalysisProcessor"], ["player_shot_zone_analysis"]),
        p("player_composite_factors", ["PlayerCompositeFactorsProcessor"], ["player_composite_factors"]),
        p("player_daily_cache", ["PlayerDailyCacheProcessor"], ["player_daily_cache"]),
        p("ml_feature_store", ["MLFeatureStoreProcessor"], ["ml_feature_store_v2"]),
      ],
      rule: {
        kind: "tiered",
        tiers: [
          { afterMinutes: 60, minComplete: 4 },
          { afterMinutes: 120, minComplete: 3 },
          { afterMinutes: 240, minComplete: 1 },
        ],
      },
      stallAfterMinutes: 300,
      absenceAlertHours: 36,
    },
    {
      id: "phase5-to-phase6",
      fromPhase: 5,
      toPhase: 6,
      functionName: "phase5-to-phase6-orchestrator",
      inputTopic: "phase5-predictions-complete",
      outputTopic: "phase6-export-trigger",
      phaseWireName: "phase_5_predictions",
      normaliseClassNames: false,
      processors: [p("prediction_coordinator", ["PredictionCoordinator"], [])],
      rule: {
        kind: "completion_pct",
        processor: "prediction_coordinator",
        minPct: 80,
        exportTypes: ["predictions", "best-bets", "player-profiles", "tonight-players"],
      },
      stallAfterMinutes: 180,
      absenceAlertHours: 36,
    },
  ],
};
